// validate: loops over backends x ISA paths x batch sizes, runs the shared
// OpTester, merges each operation's results over the batch sizes into one
// row (worst error, largest tolerance, all must pass). The command is three
// steps: parse the options, select the (backend, ISA path) pairs, run them.
#include "tools/validate.h"

#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ostream>

namespace cnn::validate {

std::vector<OpRow> check_path(const BackendInfo& info, const std::string& isa, int threads,
                              const std::vector<int>& batches, std::uint64_t base_seed) {
  std::vector<OpRow> rows;
  for (int b : batches) {
    test::OpCase c;
    c.backend = info.name;
    c.isa = isa;
    c.threads = threads;
    c.batch = b;
    c.seed = base_seed + std::uint64_t(b);
    BackendOptions opt;
    opt.threads = threads;
    opt.isa = isa;
    auto be = info.make(opt);
    for (const auto& r : test::check_backend(*be, c)) {
      auto it =
          std::find_if(rows.begin(), rows.end(), [&](const OpRow& x) { return x.op == r.op; });
      if (it == rows.end()) {
        rows.push_back(OpRow{});
        it = rows.end() - 1;
        it->op = r.op;
      }
      it->max_abs_err = std::max(it->max_abs_err, r.max_abs_err);
      it->max_rel_err = std::max(it->max_rel_err, r.max_rel_err);
      it->tol = std::max(it->tol, r.tol_note);
      // The tester marks a mostly-zero reference as a failure itself; the
      // share is checked again so a result can never pass untrusted.
      const bool ok = r.pass && r.nonzero_share >= r.min_nonzero;
      if (!ok) {
        it->pass = false;
        it->failures.push_back(r.failure.empty() ? test::describe(c) + ": reference mostly zero"
                                                 : r.failure);
      }
    }
  }
  return rows;
}

void print_rows(std::ostream& out, const std::vector<OpRow>& rows) {
  char line[256];
  std::snprintf(line, sizeof line, "  %-24s %12s %12s %12s  %s", "op", "max_abs_err", "max_rel_err",
                "tolerance", "result");
  out << line << "\n";
  for (const auto& r : rows) {
    char tol[32];
    if (r.tol == 0)
      std::snprintf(tol, sizeof tol, "exact");
    else
      std::snprintf(tol, sizeof tol, "%.3e", r.tol);
    std::snprintf(line, sizeof line, "  %-24s %12.3e %12.3e %12s  %s", r.op.c_str(), r.max_abs_err,
                  r.max_rel_err, tol, r.pass ? "PASS" : "FAIL");
    out << line << "\n";
  }
  for (const auto& r : rows)
    for (const auto& f : r.failures) out << "  FAIL " << r.op << ": " << f << "\n";
  out << std::flush;
}

namespace {

// What the command line asked for.
struct Options {
  std::string backend = "all", isa;
  int threads = 0;  // 0: all cores
  std::vector<int> batches = {1, 3, 32, 67};
  std::uint64_t seed = 1000;
};

// A (backend, ISA path) pair to check.
using Path = std::pair<const BackendInfo*, std::string>;

// Exit codes of validate_main (validate.h); kGoOn: no exit yet.
constexpr int kGoOn = -1, kUsageError = 2;

// "all, simd, im2col, ...": what --backend accepts.
std::string backend_names(const std::vector<BackendInfo>& registry) {
  std::string names = "all";
  for (const auto& b : registry) names += ", " + b.name;
  return names;
}

// Parses the command line into `o`. Returns kGoOn, or the exit code when
// the command ends here (--help: 0, a usage error: 2).
int parse(int argc, const char* const* argv, const std::vector<BackendInfo>& registry, Options& o,
          std::ostream& out, std::ostream& err) {
  CLI::App app{"Check every operation of a kernel backend against the Eigen reference."};
  app.add_option("--backend", o.backend,
                 "backend to check, or all (" + backend_names(registry) + ")")
      ->capture_default_str();
  app.add_option("--isa", o.isa,
                 "check only this instruction-set path (default: every path the CPU supports)");
  auto* threads_opt =
      app.add_option("--threads", o.threads, "threads for threaded backends (default: all cores)");
  app.add_option("--batches", o.batches, "batch sizes, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--seed", o.seed, "base seed; batch size b uses seed + b")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "error: " << e.what() << "\n";
    return kUsageError;
  }
  if (*threads_opt && o.threads < 1) {
    err << "error: --threads must be >= 1 (got " << o.threads << ")\n";
    return kUsageError;
  }
  if (!*threads_opt) o.threads = omp_get_max_threads();
  for (int b : o.batches)
    if (b < 1) {
      err << "error: --batches: every batch size must be >= 1 (got " << b << ")\n";
      return kUsageError;
    }
  return kGoOn;
}

// The (backend, ISA path) pairs the options select, into `paths`. Returns
// kGoOn, or kUsageError for an unknown backend or a path nothing can run.
int select_paths(const Options& o, const std::vector<BackendInfo>& registry,
                 std::vector<Path>& paths, std::ostream& out, std::ostream& err) {
  std::vector<const BackendInfo*> chosen;
  for (const auto& b : registry)
    if (o.backend == "all" || b.name == o.backend ||
        (o.backend == "auto" && &b == &registry.front()))
      chosen.push_back(&b);
  if (chosen.empty()) {
    err << "error: --backend: unknown backend '" << o.backend
        << "' (valid: " << backend_names(registry) << ")\n";
    return kUsageError;
  }
  for (const auto* b : chosen) {
    const auto avail = b->isa_paths();
    if (o.isa.empty()) {
      for (const auto& p : avail) paths.emplace_back(b, p);
    } else if (std::find(avail.begin(), avail.end(), o.isa) != avail.end()) {
      paths.emplace_back(b, o.isa);
    } else if (chosen.size() == 1) {
      std::string list;
      for (const auto& p : avail) list += (list.empty() ? "" : ", ") + p;
      err << "error: --isa: backend " << b->name << " cannot run path '" << o.isa
          << "' on this CPU (available: " << list << ")\n";
      return kUsageError;
    } else {
      out << "validate: backend=" << b->name << " has no path '" << o.isa
          << "' on this CPU: skipped\n";
    }
  }
  if (paths.empty()) {
    err << "error: --isa: no backend can run path '" << o.isa << "' on this CPU\n";
    return kUsageError;
  }
  return kGoOn;
}

// Checks every path, prints its table and the summary; returns 0 when all
// pass, else 1.
int run(const Options& o, const std::vector<Path>& paths, std::ostream& out) {
  std::string blist;
  for (int b : o.batches) blist += (blist.empty() ? "" : ",") + std::to_string(b);
  int failed_ops = 0, checked_ops = 0;
  for (const auto& [info, p] : paths) {
    out << "validate: backend=" << info->name << " isa=" << p << " threads=" << o.threads
        << " batches=" << blist << " seed=" << o.seed << "+B\n";
    const auto rows = check_path(*info, p, o.threads, o.batches, o.seed);
    print_rows(out, rows);
    for (const auto& r : rows) {
      ++checked_ops;
      failed_ops += !r.pass;
    }
  }
  out << "(tolerance: the largest error allowed for any output, atol + rtol * sum|terms| as in "
         "tests/op_tester.h; exact: must be equal)\n";
  out << "validate: " << paths.size() << " backend path(s), " << checked_ops
      << " operation checks: ";
  if (failed_ops)
    out << failed_ops << " FAILED\n";
  else
    out << "all PASS\n";
  out << std::flush;
  return failed_ops ? 1 : 0;
}

}  // namespace

int validate_main(int argc, const char* const* argv, const std::vector<BackendInfo>& registry,
                  std::ostream& out, std::ostream& err) {
  Options o;
  if (const int rc = parse(argc, argv, registry, o, out, err); rc != kGoOn) return rc;
  std::vector<Path> paths;
  if (const int rc = select_paths(o, registry, paths, out, err); rc != kGoOn) return rc;
  return run(o, paths, out);
}

}  // namespace cnn::validate
