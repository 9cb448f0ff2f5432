// Table, CSV and JSON writers for the training profile (see the header).
// All three are built from the same rows, so they always agree.
#include "src/profile_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <thread>

#include "kernels/common/cpu.h"

namespace cnn {

namespace {

const char* kind_name(const Profiler::Entry& e) {
  if (e.nested) return "nested";
  return e.kind == OpKind::outside ? "outside" : "layer";
}

std::string json_string(const std::string& s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += char(c);
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      r += b;
    } else {
      r += char(c);
    }
  }
  return r + "\"";
}

// Shortest round-tripping form; never "nan"/"inf" (JSON has neither).
std::string num(double v) {
  if (!(v == v) || v > 1e300 || v < -1e300) return "0";
  char b[32];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

// RFC 4180: a field holding a comma, quote or newline is quoted.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string r = "\"";
  for (char c : s) r += c == '"' ? std::string("\"\"") : std::string(1, c);
  return r + "\"";
}

std::string fmt(const char* f, double v) {
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

ProfileInfo make_profile_info(const Backend& be, int batch, int epochs, double train_seconds) {
  ProfileInfo i;
  i.backend = be.name();
  i.isa = be.isa();
  i.threads = be.threads();
  i.batch = batch;
  i.epochs = epochs;
  i.train_seconds = train_seconds;
  i.cpu_model = cpu_features().model;
  i.cores = int(std::thread::hardware_concurrency());
  return i;
}

std::vector<ProfileRow> profile_rows(const Profiler& prof, double train_seconds) {
  std::vector<ProfileRow> rows;
  double counted = 0;  // seconds inside top-level scopes
  auto row = [&](const Profiler::Entry& e) {
    ProfileRow r;
    r.op = e.op;
    r.kind = kind_name(e);
    r.calls = e.calls;
    r.seconds = e.seconds;
    r.flops_per_call = e.calls ? e.flops / double(e.calls) : 0;
    r.gflops = e.seconds > 0 ? e.flops / e.seconds * 1e-9 : 0;
    r.share = train_seconds > 0 ? e.seconds / train_seconds : 0;
    if (!e.nested) counted += e.seconds;
    rows.push_back(r);
  };
  // Layers first (nested ones right after, in reporting order), then outside.
  for (const auto& e : prof.entries())
    if (e.kind == OpKind::layer) row(e);
  for (const auto& e : prof.entries())
    if (e.kind == OpKind::outside) row(e);
  ProfileRow rest;
  rest.op = kBookkeepingRow;
  rest.kind = "outside";
  rest.seconds = train_seconds - counted;
  rest.share = train_seconds > 0 ? rest.seconds / train_seconds : 0;
  rows.push_back(rest);
  return rows;
}

void write_profile_table(std::ostream& out, const ProfileInfo& info, const Profiler& prof) {
  const auto rows = profile_rows(prof, info.train_seconds);
  // The name column fits the longest reported name (fused ones are long).
  int w = 22;
  for (const auto& r : rows) w = std::max(w, int(r.op.size()) + (r.kind == "nested" ? 7 : 0));
  char line[512];
  out << "\nProfile: backend=" << info.backend << " isa=" << info.isa << " threads=" << info.threads
      << " batch=" << info.batch << " epochs=" << info.epochs << " | " << info.cpu_model << ", "
      << info.cores << " cores\n";
  // "µs" is two bytes and one column: pad the header by hand.
  out << std::string("operation") + std::string(w - 9, ' ') +
             "    calls     total ms      µs/call    GFLOP/s    share\n";
  bool outside_header = false;
  for (const auto& r : rows) {
    if (r.kind == "outside" && !outside_header) {
      out << "-- outside the layers --\n";
      outside_header = true;
    }
    std::string name = r.kind == "nested" ? "  (in) " + r.op : r.op;
    std::string calls = r.calls ? std::to_string(r.calls) : "-";
    std::string per = r.calls ? fmt("%.2f", r.seconds / double(r.calls) * 1e6) : "-";
    std::string gf = r.flops_per_call > 0 ? fmt("%.2f", r.gflops) : "-";
    std::snprintf(line, sizeof line, "%-*s %8s %12.1f %12s %10s %7.1f%%\n", w, name.c_str(),
                  calls.c_str(), r.seconds * 1e3, per.c_str(), gf.c_str(), r.share * 100);
    out << line;
  }
  std::snprintf(line, sizeof line, "%-*s %8s %12.1f %12s %10s %7.1f%%\n", w, "training total", "",
                info.train_seconds * 1e3, "", "", 100.0);
  out << line;
  if (prof.misplaced())
    out << "warning: " << prof.misplaced()
        << " operation reports came from inside a parallel region or another thread and were "
           "dropped (OpScope belongs outside parallel regions)\n";
}

void write_profile_csv(std::ostream& out, const Profiler& prof, double train_seconds) {
  out << "op,kind,calls,total_ms,us_per_call,flops_per_call,gflops,share\n";
  for (const auto& r : profile_rows(prof, train_seconds)) {
    out << csv_field(r.op) << ',' << r.kind << ',' << r.calls << ',' << num(r.seconds * 1e3) << ','
        << num(r.calls ? r.seconds / double(r.calls) * 1e6 : 0) << ',' << num(r.flops_per_call)
        << ',' << num(r.gflops) << ',' << num(r.share) << '\n';
  }
}

void write_profile_json(std::ostream& out, const ProfileInfo& info, const Profiler& prof) {
  out << "{\n"
      << "  \"backend\": " << json_string(info.backend) << ",\n"
      << "  \"isa\": " << json_string(info.isa) << ",\n"
      << "  \"threads\": " << info.threads << ",\n"
      << "  \"batch\": " << info.batch << ",\n"
      << "  \"epochs\": " << info.epochs << ",\n"
      << "  \"train_seconds\": " << num(info.train_seconds) << ",\n"
      << "  \"machine\": {\"cpu\": " << json_string(info.cpu_model) << ", \"cores\": " << info.cores
      << "},\n"
      << "  \"misplaced_reports\": " << prof.misplaced() << ",\n"
      << "  \"ops\": [\n";
  const auto rows = profile_rows(prof, info.train_seconds);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    out << "    {\"op\": " << json_string(r.op) << ", \"kind\": " << json_string(r.kind)
        << ", \"calls\": " << r.calls << ", \"total_ms\": " << num(r.seconds * 1e3)
        << ", \"us_per_call\": " << num(r.calls ? r.seconds / double(r.calls) * 1e6 : 0)
        << ", \"flops_per_call\": " << num(r.flops_per_call) << ", \"gflops\": " << num(r.gflops)
        << ", \"share\": " << num(r.share) << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
}

std::string profile_dir_for_log(const std::string& log_path) {
  if (log_path.empty()) return "logs";
  auto parent = std::filesystem::path(log_path).parent_path();
  return parent.empty() ? "." : parent.string();
}

std::vector<std::string> report_profile(const Profiler& prof, const ProfileInfo& info,
                                        std::ostream& out, const std::string& dir) {
  write_profile_table(out, info, prof);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string stem = (std::filesystem::path(dir) / ("profile_" + info.backend)).string();
  std::vector<std::string> paths = {stem + ".csv", stem + ".json"};
  for (const auto& path : paths) {
    std::ofstream f(path);
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".csv") == 0)
      write_profile_csv(f, prof, info.train_seconds);
    else
      write_profile_json(f, info, prof);
    f.flush();
    if (!f) throw std::runtime_error(path + ": cannot write the profile");
  }
  out << "Profile written to " << paths[0] << " and " << paths[1] << std::endl;
  return paths;
}

}  // namespace cnn
