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

namespace {

// The per-call, rate and share columns, from r.calls, r.seconds and the
// flops summed over the calls.
void set_rates(ProfileRow& r, double flops, double train_seconds) {
  r.flops_per_call = r.calls ? flops / double(r.calls) : 0;
  r.gflops = r.seconds > 0 ? flops / r.seconds * 1e-9 : 0;
  r.share = train_seconds > 0 ? r.seconds / train_seconds : 0;
}

bool fused_name(const std::string& op) { return op.find('+') != std::string::npos; }

ProfileRow entry_row(const Profiler::Entry& e, const std::string& group, const char* kind,
                     double train_seconds) {
  ProfileRow r;
  r.group = group;
  r.op = e.op;
  r.kind = kind;
  r.fused = fused_name(e.op);
  r.calls = e.calls;
  r.seconds = e.seconds;
  set_rates(r, e.flops, train_seconds);
  return r;
}

// The group's row (its top-level scopes summed), then its sub-rows when more
// than one scope was reported in it; returns the group's seconds.
double add_group_rows(std::vector<ProfileRow>& rows, const Profiler& prof, int g,
                      double train_seconds) {
  std::vector<const Profiler::Entry*> all, top;
  for (const auto& e : prof.entries())
    if (e.kind == OpKind::layer && e.group == g) {
      all.push_back(&e);
      if (!e.nested) top.push_back(&e);
    }
  ProfileRow r;
  r.group = kLayerGroups[g].label;
  r.kind = "group";
  double flops = 0;
  for (const auto* e : top) {
    r.calls = std::max(r.calls, e->calls);  // split layers run once per step each
    r.seconds += e->seconds;
    flops += e->flops;
  }
  if (top.size() == 1) {
    r.op = top[0]->op;
    r.fused = fused_name(r.op);
  }
  set_rates(r, flops, train_seconds);
  rows.push_back(r);
  // Top-level scopes first, then those nested in them (which close, and
  // so are first seen, before the scope around them).
  if (all.size() > 1)
    for (bool nested : {false, true})
      for (const auto* e : all)
        if (e->nested == nested)
          rows.push_back(entry_row(*e, r.group, nested ? "nested" : "layer", train_seconds));
  return r.seconds;
}

// What a row is called in the table's first column.
std::string table_name(const ProfileRow& r) {
  if (r.kind == "group") return r.fused ? r.group + " [fused]" : r.group;
  if (r.kind == "layer") return "    " + r.op;
  if (r.kind == "nested") return "    (in) " + r.op;
  if (r.kind == "total") return "training total";
  return r.op;
}

}  // namespace

std::vector<ProfileRow> profile_rows(const Profiler& prof, double train_seconds) {
  std::vector<ProfileRow> rows;
  double counted = 0;  // seconds inside top-level scopes
  for (int g = 0; g < kLayerGroupCount; ++g)
    counted += add_group_rows(rows, prof, g, train_seconds);
  for (const char* name : kOutsideOps) {
    Profiler::Entry none;
    none.op = name;
    const Profiler::Entry* found = &none;
    for (const auto& e : prof.entries())
      if (e.kind == OpKind::outside && e.op == name) found = &e;
    rows.push_back(entry_row(*found, "outside", "outside", train_seconds));
    counted += found->seconds;
  }
  ProfileRow rest;
  rest.group = "outside";
  rest.op = kBookkeepingRow;
  rest.kind = "outside";
  rest.seconds = train_seconds - counted;
  set_rates(rest, 0, train_seconds);
  rows.push_back(rest);
  ProfileRow total;
  total.group = total.kind = "total";
  total.seconds = train_seconds;
  set_rates(total, 0, train_seconds);
  rows.push_back(total);
  return rows;
}

void write_profile_table(std::ostream& out, const ProfileInfo& info, const Profiler& prof) {
  const auto rows = profile_rows(prof, info.train_seconds);
  int w = 22;  // the name column fits the longest row name
  for (const auto& r : rows) w = std::max(w, int(table_name(r).size()));
  char line[512];
  out << "\nProfile: backend=" << info.backend << " isa=" << info.isa << " threads=" << info.threads
      << " batch=" << info.batch << " epochs=" << info.epochs << " | " << info.cpu_model << ", "
      << info.cores << " cores\n";
  // "µs" is two bytes and one column: pad the header by hand.
  out << std::string("layer") + std::string(w - 5, ' ') +
             "    calls     total ms      µs/call    GFLOP/s    share\n";
  for (const auto& r : rows) {
    if (r.kind == "outside" && r.op == kOutsideOps[0]) out << "-- outside the layers --\n";
    std::string calls = r.calls ? std::to_string(r.calls) : "-";
    std::string per = r.calls ? fmt("%.2f", r.seconds / double(r.calls) * 1e6) : "-";
    std::string gf = r.flops_per_call > 0 ? fmt("%.2f", r.gflops) : "-";
    if (r.kind == "total") calls = per = gf = "";
    std::snprintf(line, sizeof line, "%-*s %8s %12.1f %12s %10s %7.1f%%\n", w,
                  table_name(r).c_str(), calls.c_str(), r.seconds * 1e3, per.c_str(), gf.c_str(),
                  r.share * 100);
    out << line;
  }
  if (prof.misplaced())
    out << "warning: " << prof.misplaced()
        << " operation reports came from inside a parallel region or another thread and were "
           "dropped (OpScope belongs outside parallel regions)\n";
  for (const auto& e : prof.errors())
    out << "error: profiler vocabulary: " << e << "; its time is counted under bookkeeping\n";
}

void write_profile_csv(std::ostream& out, const Profiler& prof, double train_seconds) {
  out << "group,op,kind,fused,calls,total_ms,us_per_call,flops_per_call,gflops,share\n";
  for (const auto& r : profile_rows(prof, train_seconds)) {
    out << csv_field(r.group) << ',' << csv_field(r.op) << ',' << r.kind << ',' << int(r.fused)
        << ',' << r.calls << ',' << num(r.seconds * 1e3) << ','
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
      << "  \"errors\": [";
  for (std::size_t i = 0; i < prof.errors().size(); ++i)
    out << (i ? ", " : "") << json_string(prof.errors()[i]);
  out << "],\n  \"rows\": [\n";
  const auto rows = profile_rows(prof, info.train_seconds);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    out << "    {\"group\": " << json_string(r.group) << ", \"op\": " << json_string(r.op)
        << ", \"kind\": " << json_string(r.kind) << ", \"fused\": " << (r.fused ? "true" : "false")
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
