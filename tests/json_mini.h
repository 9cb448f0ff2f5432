// A minimal strict JSON reader for tests (RFC 8259 values; \u escapes are
// kept only for ASCII). parse_json throws std::runtime_error with the byte
// offset on malformed input, including trailing garbage, so "it parses" is a
// real check of what the profiler and Google Benchmark write.
#pragma once

#include <cctype>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnn::test {

struct Json {
  enum Type { null, boolean, number, string, array, object } type = null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::map<std::string, Json> obj;

  bool has(const std::string& k) const { return type == object && obj.count(k) != 0; }
  const Json& operator[](const std::string& k) const {
    auto it = obj.find(k);
    if (type != object || it == obj.end()) throw std::runtime_error("json: no key '" + k + "'");
    return it->second;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  Json parse() {
    Json v = value();
    ws();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("json: " + what + " at byte " + std::to_string(i_));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(const char* w) {
    std::string ww(w);
    if (s_.compare(i_, ww.size(), ww) != 0) return false;
    i_ += ww.size();
    return true;
  }
  std::string str() {
    expect('"');
    std::string r;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_++];
      if (c == '"') return r;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        r += c;
        continue;
      }
      if (i_ >= s_.size()) fail("bad escape");
      char e = s_[i_++];
      switch (e) {
        case '"':
          r += '"';
          break;
        case '\\':
          r += '\\';
          break;
        case '/':
          r += '/';
          break;
        case 'b':
          r += '\b';
          break;
        case 'f':
          r += '\f';
          break;
        case 'n':
          r += '\n';
          break;
        case 'r':
          r += '\r';
          break;
        case 't':
          r += '\t';
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) fail("bad \\u escape");
          for (int k = 0; k < 4; ++k)
            if (!std::isxdigit(static_cast<unsigned char>(s_[i_ + k]))) fail("bad \\u escape");
          long cp = std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16);
          i_ += 4;
          r += cp < 0x80 ? char(cp) : '?';
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  Json value() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    Json v;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.type = Json::object;
      if (eat('}')) return v;
      do {
        ws();
        std::string k = str();
        expect(':');
        v.obj[k] = value();
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.type = Json::array;
      if (eat(']')) return v;
      do v.arr.push_back(value());
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.type = Json::string;
      v.str = str();
    } else if (word("true")) {
      v.type = Json::boolean;
      v.b = true;
    } else if (word("false")) {
      v.type = Json::boolean;
    } else if (word("null")) {
      v.type = Json::null;
    } else {
      // JSON number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?
      std::size_t st = i_;
      auto digits = [&] {
        std::size_t d0 = i_;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        if (i_ == d0) fail("bad number");
      };
      if (s_[i_] == '-') ++i_;
      if (i_ < s_.size() && s_[i_] == '0')
        ++i_;
      else
        digits();
      if (i_ < s_.size() && s_[i_] == '.') {
        ++i_;
        digits();
      }
      if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
        ++i_;
        if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
        digits();
      }
      v.type = Json::number;
      v.num = std::strtod(s_.substr(st, i_ - st).c_str(), nullptr);
    }
    return v;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

inline Json parse_json(const std::string& s) { return JsonParser(s).parse(); }

}  // namespace cnn::test
