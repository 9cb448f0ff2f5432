// The backend registry: a name -> factory table. `--backend NAME` looks a
// backend up here; tests and benchmarks iterate over it, so a backend added
// to the table joins the reference suite, the profile and the benchmarks.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.h"

namespace cnn {

struct BackendInfo {
  std::string name;
  std::string description;
  std::function<std::unique_ptr<Backend>(const BackendOptions&)> make;
  // ISA paths this backend can run on this CPU, best first ({"portable"} for
  // backends without ISA-specific code).
  std::function<std::vector<std::string>()> isa_paths;
};

class UnknownBackend : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// In order of preference: "auto" picks the first entry.
const std::vector<BackendInfo>& backend_registry();
// Throws UnknownBackend (its message lists the valid names) for a bad name.
// "auto" picks the fastest backend available.
const BackendInfo& find_backend(const std::string& name);
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& opt = {});

}  // namespace cnn
