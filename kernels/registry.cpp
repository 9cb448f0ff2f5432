#include "kernels/registry.h"

#include "kernels/naive/naive.h"

namespace cnn {

namespace {
std::vector<std::string> portable_only() { return {"portable"}; }
}  // namespace

const std::vector<BackendInfo>& backend_registry() {
  // Fastest first: "auto" takes the first entry.
  static const std::vector<BackendInfo> table = {
      {"naive", "explicit single-threaded loops, bit-exact with the reference program",
       [](const BackendOptions&) { return make_naive_backend(); }, portable_only},
  };
  return table;
}

const BackendInfo& find_backend(const std::string& name) {
  const auto& t = backend_registry();
  if (name == "auto") return t.front();
  for (const auto& b : t)
    if (b.name == name) return b;
  std::string valid = "auto";
  for (const auto& b : t) valid += ", " + b.name;
  throw UnknownBackend("unknown backend '" + name + "' (valid: " + valid + ")");
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opt) {
  return find_backend(name).make(opt);
}

}  // namespace cnn
