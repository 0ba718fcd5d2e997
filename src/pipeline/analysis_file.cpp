#include "pipeline/analysis_file.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <limits>
#include <thread>

#include <fmt/core.h>

#include "store/hdf5_handle.hpp"

namespace glutescope::pipeline {
namespace {

using namespace glutescope::store;

// Objects are created without modification times so that the same result gives the same bytes
// (bit-identical reruns and --jobs N == --jobs 1).
PropListHandle untimed(hid_t cls) {
  PropListHandle p(H5Pcreate(cls));
  H5Pset_obj_track_times(p.get(), false);
  return p;
}

GroupHandle make_group(hid_t file, const char* name, const Hdf5Where& where) {
  PropListHandle gcpl = untimed(H5P_GROUP_CREATE);
  return GroupHandle(
      checked(H5Gcreate2(file, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "create group", where));
}

template <typename T>
void write_matrix(hid_t group, const std::string& name, const std::vector<T>& values, std::size_t rows,
                  std::size_t cols, const Hdf5Where& where) {
  const hsize_t dims[2] = {rows, cols};
  DataspaceHandle space(checked(H5Screate_simple(2, dims, nullptr), "create dataspace for", where));
  PropListHandle dcpl = untimed(H5P_DATASET_CREATE);
  DatasetHandle ds(checked(
      H5Dcreate2(group, name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "create dataset", where));
  if (!values.empty()) {
    check_status(H5Dwrite(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "write",
                 where);
  }
}
template <typename T>
void write_vector(hid_t group, const std::string& name, const std::vector<T>& values,
                  const Hdf5Where& where) {
  write_matrix(group, name, values, values.size(), 1, where);
}
void write_strings(hid_t group, const std::string& name, const std::vector<std::string>& values,
                   const Hdf5Where& where, std::size_t cols = 0) {
  DatatypeHandle type = vlen_utf8_type(where);
  const hsize_t dims[2] = {cols == 0 ? values.size() : values.size() / cols, cols};
  DataspaceHandle space(
      checked(H5Screate_simple(cols == 0 ? 1 : 2, dims, nullptr), "create dataspace for", where));
  PropListHandle dcpl = untimed(H5P_DATASET_CREATE);
  DatasetHandle ds(
      checked(H5Dcreate2(group, name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
              "create dataset", where));
  std::vector<const char*> data;
  for (const auto& v : values) data.push_back(v.c_str());
  if (!data.empty())
    check_status(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "write", where);
}

template <typename T>
std::vector<T> read_any(hid_t group, const std::string& name, const Hdf5Where& where) {
  if (!has_link(group, name)) throw Hdf5Error(fmt::format("missing dataset {} in {}", name, where.file));
  DatasetHandle ds(checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "open dataset", where));
  DataspaceHandle space(checked(H5Dget_space(ds.get()), "get dataspace", where));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<T> values(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
  if (!values.empty()) {
    check_status(H5Dread(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "read",
                 where);
  }
  return values;
}

template <typename Row, typename T>
std::vector<T> column(const std::vector<Row>& rows, std::function<T(const Row&)> get) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const Row& r : rows) out.push_back(get(r));
  return out;
}

using exercise::RepScore;
using exercise::SetAnalysis;
using exercise::SideRatios;

// Per-rep scalar columns of /reps, shared by the writer and the reader so the two cannot drift apart.
constexpr std::pair<const char*, double RepScore::*> kRepTimeColumns[] = {
    {"start_s", &RepScore::start_s},
    {"concentric_end_s", &RepScore::concentric_end_s},
    {"hold_end_s", &RepScore::hold_end_s},
    {"end_s", &RepScore::end_s},
    {"peak_s", &RepScore::peak_s},
    {"rom_deg", &RepScore::rom_deg},
    {"pelvic_roll_max_deg", &RepScore::pelvic_roll_max_deg},
    {"pelvic_tilt_min_deg", &RepScore::pelvic_tilt_min_deg}};

// Flattened view of every rep with its set, in set order.
struct RepRef {
  std::uint32_t set_index;
  const SetAnalysis* set;
  const RepScore* rep;
};
std::vector<RepRef> all_reps(const exercise::SessionAnalysis& a) {
  std::vector<RepRef> out;
  for (std::size_t s = 0; s < a.sets.size(); ++s) {
    for (const RepScore& r : a.sets[s].reps) out.push_back({static_cast<std::uint32_t>(s), &a.sets[s], &r});
  }
  return out;
}

std::vector<double> ratios_row(const SideRatios& r) {
  return {r.per_side[0], r.per_side[1], r.ratio_of_means, r.mean_of_ratios};
}
SideRatios ratios_from(const std::vector<double>& m, std::size_t row) {
  SideRatios r;
  r.per_side = {m.at(row * 4), m.at(row * 4 + 1)};
  r.ratio_of_means = m.at(row * 4 + 2);
  r.mean_of_ratios = m.at(row * 4 + 3);
  return r;
}

void write_ratios(hid_t g, const std::string& name, const std::vector<SideRatios>& rows, const Hdf5Where& w) {
  std::vector<double> m;
  for (const SideRatios& r : rows) {
    const auto row = ratios_row(r);
    m.insert(m.end(), row.begin(), row.end());
  }
  write_matrix(g, name, m, rows.size(), 4, w);
}

GroupHandle open_group(hid_t parent, const char* name, const Hdf5Where& w) {
  if (!has_link(parent, name)) throw Hdf5Error(fmt::format("missing group {} in {}", name, w.file));
  return GroupHandle(checked(H5Gopen2(parent, name, H5P_DEFAULT), "open group", w));
}

}  // namespace

std::filesystem::path analysis_path_for(const std::filesystem::path& session_path) {
  std::filesystem::path p = session_path;
  if (p.extension() == ".h5") p.replace_extension();
  p += std::string(kAnalysisSuffix);
  return p;
}

void write_analysis_file(const AnalysisResult& r, const std::filesystem::path& out) {
  silence_hdf5_errors();
  const std::filesystem::path tmp = fmt::format("{}.tmp-{}-{}", out.string(), ::getpid(),
                                                std::hash<std::thread::id>{}(std::this_thread::get_id()));
  const Hdf5Where w{tmp.string(), "/"};
  const exercise::SessionAnalysis& a = r.analysis;
  const std::size_t nch = r.channels();
  try {
    {
      PropListHandle fcpl = untimed(H5P_FILE_CREATE);
      FileHandle file(
          checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), "create file", w));
      const hid_t root = file.get();
      write_string_attribute(root, "format", std::string(kAnalysisFormatName), w);
      write_string_attribute(root, "format_version", std::string(kAnalysisFormatVersion), w);
      write_string_attribute(root, "software_version", r.software_version, w);
      write_string_attribute(root, "scoring_version", a.software_version, w);
      write_string_attribute(root, "settings_toml", r.settings_toml, w);
      write_string_attribute(root, "source_file", r.source, w);
      write_string_attribute(root, "input_hash", r.input_hash, w);
      write_string_attribute(root, "subject_id", r.subject_id, w);
      write_string_attribute(root, "session_start_time", r.session_start_time, w);
      write_string_attribute(root, "mode", r.mode, w);
      write_scalar_attribute<std::uint64_t>(root, "emg_gap_samples", r.emg_gap_samples, w);
      write_strings(root, "warnings", a.warnings, w);

      GroupHandle ch = make_group(root, "channels", w);
      std::vector<std::string> labels;
      std::vector<std::uint8_t> muscles, sides;
      for (const EmgChannel& c : r.montage.emg) {
        labels.push_back(c.label);
        muscles.push_back(static_cast<std::uint8_t>(c.muscle));
        sides.push_back(static_cast<std::uint8_t>(c.side));
      }
      write_strings(ch.get(), "label", labels, w);
      write_vector(ch.get(), "muscle", muscles, w);
      write_vector(ch.get(), "side", sides, w);
      std::vector<double> mvc = a.mvc_reference_uv;
      mvc.resize(nch, std::numeric_limits<double>::quiet_NaN());
      write_vector(ch.get(), "mvc_reference_uv", mvc, w);

      // ---- sets
      GroupHandle sets = make_group(root, "sets", w);
      const std::size_t ns = a.sets.size();
      using S = SetAnalysis;
      auto set_u8 = [&](const char* name, auto get) {
        write_vector(
            sets.get(), name,
            column<S, std::uint8_t>(a.sets, [&](const S& x) { return static_cast<std::uint8_t>(get(x)); }),
            w);
      };
      auto set_u32 = [&](const char* name, auto get) {
        write_vector(
            sets.get(), name,
            column<S, std::uint32_t>(a.sets, [&](const S& x) { return static_cast<std::uint32_t>(get(x)); }),
            w);
      };
      auto set_f64 = [&](const char* name, auto get) {
        write_vector(sets.get(), name,
                     column<S, double>(a.sets, [&](const S& x) { return static_cast<double>(get(x)); }), w);
      };
      auto set_str = [&](const char* name, auto get) {
        write_strings(sets.get(), name,
                      column<S, std::string>(a.sets, [&](const S& x) { return std::string(get(x)); }), w);
      };
      auto set_per_channel = [&](const char* name, auto get) {
        std::vector<double> m;
        for (const S& x : a.sets) {
          std::vector<double> row = get(x);
          row.resize(nch, std::numeric_limits<double>::quiet_NaN());
          m.insert(m.end(), row.begin(), row.end());
        }
        write_matrix(sets.get(), name, m, ns, nch, w);
      };
      set_u8("exercise", [](const S& x) { return x.exercise; });
      set_f64("start_s", [](const S& x) { return x.start_s; });
      set_f64("stop_s", [](const S& x) { return x.stop_s; });
      set_u8("status", [](const S& x) { return x.status; });
      set_str("status_text", [](const S& x) { return exercise::to_string(x.status); });
      set_str("status_message", [](const S& x) { return x.status_message; });
      set_u8("working_side", [](const S& x) { return x.working_side; });
      set_str("normalisation", [](const S& x) { return exercise::to_string(x.normalisation.kind); });
      set_str("normalisation_note", [](const S& x) { return x.normalisation.note; });
      set_per_channel("normalisation_reference_uv", [](const S& x) { return x.normalisation.reference_uv; });
      set_u32("reps", [](const S& x) { return x.summary.reps; });
      set_u32("partial_reps", [](const S& x) { return x.summary.partial_reps; });
      set_u32("valid_reps", [](const S& x) { return x.summary.valid_reps; });
      std::vector<std::uint32_t> counts;
      for (const S& x : a.sets) {
        for (const exercise::VerdictCounts& c : x.summary.verdicts) {
          for (int v : {c.yes, c.no, c.not_available, c.invalid})
            counts.push_back(static_cast<std::uint32_t>(v));
        }
      }
      {
        const hsize_t dims[3] = {ns, exercise::kVerdictCount, 4};
        DataspaceHandle space(checked(H5Screate_simple(3, dims, nullptr), "create dataspace for", w));
        PropListHandle dcpl = untimed(H5P_DATASET_CREATE);
        DatasetHandle ds(checked(H5Dcreate2(sets.get(), "verdict_counts", native_type<std::uint32_t>(),
                                            space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                 "create dataset", w));
        if (!counts.empty()) {
          check_status(
              H5Dwrite(ds.get(), native_type<std::uint32_t>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, counts.data()),
              "write", w);
        }
        std::string names;
        for (auto n : exercise::kVerdictNames) {
          if (!names.empty()) names += ',';
          names += n;
        }
        write_string_attribute(ds.get(), "verdicts", names, w);
        write_string_attribute(ds.get(), "states", "yes,no,not_available,invalid", w);
      }
      set_per_channel("median_mean_pct", [](const S& x) { return x.summary.median_mean_pct; });
      set_per_channel("median_peak_pct", [](const S& x) { return x.summary.median_peak_pct; });
      set_per_channel("median_onset_rel_ms", [](const S& x) { return x.summary.median_onset_rel_ms; });
      set_per_channel("median_frequency_trend_pct_per_rep",
                      [](const S& x) { return x.summary.median_frequency_trend_pct_per_rep; });
      set_per_channel("finsm5_trend_pct_per_rep",
                      [](const S& x) { return x.summary.finsm5_trend_pct_per_rep; });
      write_ratios(sets.get(), "gmax_to_es",
                   column<S, SideRatios>(a.sets, [](const S& x) { return x.summary.gmax_to_es; }), w);
      write_ratios(sets.get(), "gmed_to_es",
                   column<S, SideRatios>(a.sets, [](const S& x) { return x.summary.gmed_to_es; }), w);
      set_f64("gmax_to_es_mean_of_rep_ratios",
              [](const S& x) { return x.summary.gmax_to_es_mean_of_rep_ratios; });
      set_f64("gmed_to_es_mean_of_rep_ratios",
              [](const S& x) { return x.summary.gmed_to_es_mean_of_rep_ratios; });
      set_f64("gmax_symmetry_pct", [](const S& x) { return x.summary.gmax_symmetry_pct; });
      set_f64("gmed_symmetry_pct", [](const S& x) { return x.summary.gmed_symmetry_pct; });

      // ---- reps (all sets, set order)
      GroupHandle reps = make_group(root, "reps", w);
      const std::vector<RepRef> rr = all_reps(a);
      const std::size_t nr = rr.size();
      write_vector(reps.get(), "set_index",
                   column<RepRef, std::uint32_t>(rr, [](const RepRef& x) { return x.set_index; }), w);
      write_vector(reps.get(), "rep_index",
                   column<RepRef, std::uint32_t>(
                       rr, [](const RepRef& x) { return static_cast<std::uint32_t>(x.rep->index); }),
                   w);
      for (const auto& [name, member] : kRepTimeColumns) {
        write_vector(reps.get(), name,
                     column<RepRef, double>(rr, [m = member](const RepRef& x) { return x.rep->*m; }), w);
      }
      write_vector(reps.get(), "partial",
                   column<RepRef, std::uint8_t>(
                       rr, [](const RepRef& x) { return static_cast<std::uint8_t>(x.rep->partial); }),
                   w);
      write_vector(reps.get(), "valid",
                   column<RepRef, std::uint8_t>(
                       rr, [](const RepRef& x) { return static_cast<std::uint8_t>(x.rep->valid); }),
                   w);
      write_strings(reps.get(), "invalid_reason",
                    column<RepRef, std::string>(rr, [](const RepRef& x) { return x.rep->invalid_reason; }),
                    w);
      write_strings(reps.get(), "summary",
                    column<RepRef, std::string>(rr, [](const RepRef& x) { return x.rep->summary; }), w);
      write_ratios(reps.get(), "gmax_to_es",
                   column<RepRef, SideRatios>(rr, [](const RepRef& x) { return x.rep->gmax_to_es; }), w);
      write_ratios(reps.get(), "gmed_to_es",
                   column<RepRef, SideRatios>(rr, [](const RepRef& x) { return x.rep->gmed_to_es; }), w);
      write_strings(reps.get(), "firing_order",
                    column<RepRef, std::string>(rr,
                                                [&](const RepRef& x) {
                                                  std::string order;
                                                  for (std::size_t c : x.rep->firing_order) {
                                                    if (!order.empty()) order += '>';
                                                    order += r.montage.emg.at(c).label;
                                                  }
                                                  return order;
                                                }),
                    w);
      // Per channel [reps x channels].
      auto per_channel = [&](const char* name, auto get) {
        std::vector<double> m;
        m.reserve(nr * nch);
        for (const RepRef& x : rr) {
          for (std::size_t c = 0; c < nch; ++c) {
            m.push_back(c < x.rep->channels.size() ? static_cast<double>(get(x.rep->channels[c]))
                                                   : std::numeric_limits<double>::quiet_NaN());
          }
        }
        write_matrix(reps.get(), name, m, nr, nch, w);
      };
      using C = exercise::ChannelRepScore;
      per_channel("onset_s", [](const C& c) { return c.onset_s; });
      per_channel("onset_rel_ms", [](const C& c) { return c.onset_rel_ms; });
      per_channel("mean_concentric_pct", [](const C& c) { return c.mean_concentric_pct; });
      per_channel("mean_hold_pct", [](const C& c) { return c.mean_hold_pct; });
      per_channel("mean_pct", [](const C& c) { return c.mean_pct; });
      per_channel("peak_pct", [](const C& c) { return c.peak_pct; });
      per_channel("median_frequency_hz", [](const C& c) { return c.median_frequency_hz; });
      per_channel("finsm5", [](const C& c) { return c.finsm5; });
      {
        std::vector<std::uint8_t> valid, detected;
        std::vector<std::string> reasons;
        for (const RepRef& x : rr) {
          for (std::size_t c = 0; c < nch; ++c) {
            const bool have = c < x.rep->channels.size();
            valid.push_back(have && x.rep->channels[c].valid ? 1 : 0);
            detected.push_back(have && x.rep->channels[c].onset_detected ? 1 : 0);
            reasons.push_back(have ? x.rep->channels[c].invalid_reason : std::string());
          }
        }
        write_matrix(reps.get(), "channel_valid", valid, nr, nch, w);
        write_matrix(reps.get(), "onset_detected", detected, nr, nch, w);
        write_strings(reps.get(), "channel_invalid_reason", reasons, w, nch == 0 ? 1 : nch);
      }
      GroupHandle verdicts = make_group(reps.get(), "verdicts", w);
      write_string_attribute(verdicts.get(), "state_codes", "0=no,1=yes,2=not_available,3=invalid", w);
      for (std::size_t i = 0; i < exercise::kVerdictCount; ++i) {
        GroupHandle g = make_group(verdicts.get(), std::string(exercise::kVerdictNames[i]).c_str(), w);
        auto v = [i](const RepRef& x) -> const exercise::Verdict& {
          return exercise::verdict_at(x.rep->verdicts, i);
        };
        write_vector(g.get(), "state",
                     column<RepRef, std::uint8_t>(
                         rr, [&](const RepRef& x) { return static_cast<std::uint8_t>(v(x).state); }),
                     w);
        write_strings(g.get(), "state_text",
                      column<RepRef, std::string>(
                          rr, [&](const RepRef& x) { return std::string(exercise::to_string(v(x).state)); }),
                      w);
        write_vector(g.get(), "value",
                     column<RepRef, double>(rr, [&](const RepRef& x) { return v(x).value; }), w);
        write_vector(g.get(), "threshold",
                     column<RepRef, double>(rr, [&](const RepRef& x) { return v(x).threshold; }), w);
        write_strings(g.get(), "reason",
                      column<RepRef, std::string>(rr, [&](const RepRef& x) { return v(x).reason; }), w);
      }

      GroupHandle env = make_group(root, "envelopes", w);
      write_scalar_attribute<double>(env.get(), "rate_hz", r.envelope_rate_hz, w);
      write_string_attribute(env.get(), "unit", "uV", w);
      write_matrix(env.get(), "emg_envelope", r.envelopes_uv, nch == 0 ? 0 : r.envelopes_uv.size() / nch, nch,
                   w);
      write_vector(env.get(), "driving_angle_deg", r.driving_angle_deg, w);
      if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5_error("flush", "/", tmp.string());
      if (!file.reset()) throw_hdf5_error("close", "/", tmp.string());
    }
    std::filesystem::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

AnalysisResult read_analysis_file(const std::filesystem::path& path) {
  silence_hdf5_errors();
  const Hdf5Where w{path.string(), "/"};
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error(
        fmt::format("{}: no analysis file (run glutescope analyze first)", path.string()));
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw std::runtime_error(fmt::format("{}: not an HDF5 file", path.string()));
  }
  FileHandle file(checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open", w));
  const hid_t root = file.get();
  if (!has_attribute(root, "format") || read_string_attribute(root, "format", w) != kAnalysisFormatName) {
    throw std::runtime_error(fmt::format("{}: not a glutescope analysis file", path.string()));
  }
  const std::string version = read_string_attribute(root, "format_version", w);
  const std::string major = version.substr(0, version.find('.'));
  if (major != "2") {
    throw std::runtime_error(
        fmt::format("{}: analysis format version {} is not the one this glutescope reads (2.x){}",
                    path.string(), version, major < "2" ? "; re-run glutescope analyze to rewrite it" : ""));
  }
  AnalysisResult r;
  r.software_version = read_string_attribute(root, "software_version", w);
  r.settings_toml = read_string_attribute(root, "settings_toml", w);
  r.source = read_string_attribute(root, "source_file", w);
  r.input_hash = read_string_attribute(root, "input_hash", w);
  r.subject_id = read_string_attribute(root, "subject_id", w);
  r.session_start_time = read_string_attribute(root, "session_start_time", w);
  r.mode = read_string_attribute(root, "mode", w);
  r.emg_gap_samples = read_scalar_attribute<std::uint64_t>(root, "emg_gap_samples", w);
  exercise::SessionAnalysis& a = r.analysis;
  a.software_version = read_string_attribute(root, "scoring_version", w);
  a.warnings = read_string_column(root, "warnings", w);
  try {
    a.settings = parse_analysis_settings(r.settings_toml, path.string() + " (settings_toml)").scoring;
  } catch (const ConfigError&) {
    a.settings =
        exercise::kDefaultAnalysisSettings;  // written by a glutescope with other keys: keep the text only
  }

  GroupHandle ch = open_group(root, "channels", w);
  const auto labels = read_string_column(ch.get(), "label", w);
  const auto muscles = read_any<std::uint8_t>(ch.get(), "muscle", w);
  const auto sides = read_any<std::uint8_t>(ch.get(), "side", w);
  for (std::size_t c = 0; c < labels.size(); ++c) {
    EmgChannel e;
    e.label = labels[c];
    e.muscle = static_cast<Muscle>(muscles.at(c));
    e.side = static_cast<Side>(sides.at(c));
    r.montage.emg.push_back(e);
  }
  a.mvc_reference_uv = read_any<double>(ch.get(), "mvc_reference_uv", w);
  const std::size_t nch = labels.size();
  auto row_of = [nch](const std::vector<double>& m, std::size_t i) {
    return std::vector<double>(m.begin() + static_cast<std::ptrdiff_t>(i * nch),
                               m.begin() + static_cast<std::ptrdiff_t>((i + 1) * nch));
  };

  GroupHandle sets = open_group(root, "sets", w);
  const auto s_ex = read_any<std::uint8_t>(sets.get(), "exercise", w);
  const auto s_start = read_any<double>(sets.get(), "start_s", w);
  const auto s_stop = read_any<double>(sets.get(), "stop_s", w);
  const auto s_status = read_any<std::uint8_t>(sets.get(), "status", w);
  const auto s_message = read_string_column(sets.get(), "status_message", w);
  const auto s_side = read_any<std::uint8_t>(sets.get(), "working_side", w);
  const auto s_norm = read_string_column(sets.get(), "normalisation", w);
  const auto s_note = read_string_column(sets.get(), "normalisation_note", w);
  const auto s_ref = read_any<double>(sets.get(), "normalisation_reference_uv", w);
  const auto s_reps = read_any<std::uint32_t>(sets.get(), "reps", w);
  const auto s_partial = read_any<std::uint32_t>(sets.get(), "partial_reps", w);
  const auto s_valid = read_any<std::uint32_t>(sets.get(), "valid_reps", w);
  const auto s_counts = read_any<std::uint32_t>(sets.get(), "verdict_counts", w);
  const auto s_mean = read_any<double>(sets.get(), "median_mean_pct", w);
  const auto s_peak = read_any<double>(sets.get(), "median_peak_pct", w);
  const auto s_onset = read_any<double>(sets.get(), "median_onset_rel_ms", w);
  const auto s_mdf = read_any<double>(sets.get(), "median_frequency_trend_pct_per_rep", w);
  const auto s_fin = read_any<double>(sets.get(), "finsm5_trend_pct_per_rep", w);
  const auto s_gmax = read_any<double>(sets.get(), "gmax_to_es", w);
  const auto s_gmed = read_any<double>(sets.get(), "gmed_to_es", w);
  const auto s_gmax_m = read_any<double>(sets.get(), "gmax_to_es_mean_of_rep_ratios", w);
  const auto s_gmed_m = read_any<double>(sets.get(), "gmed_to_es_mean_of_rep_ratios", w);
  const auto s_gmax_si = read_any<double>(sets.get(), "gmax_symmetry_pct", w);
  const auto s_gmed_si = read_any<double>(sets.get(), "gmed_symmetry_pct", w);
  for (std::size_t i = 0; i < s_ex.size(); ++i) {
    SetAnalysis s;
    s.exercise = static_cast<Exercise>(s_ex[i]);
    s.start_s = s_start.at(i);
    s.stop_s = s_stop.at(i);
    s.status = static_cast<exercise::SetStatus>(s_status.at(i));
    s.status_message = s_message.at(i);
    s.working_side = static_cast<Side>(s_side.at(i));
    s.normalisation.kind =
        s_norm.at(i) == "mvic" ? exercise::NormalisationKind::mvic : exercise::NormalisationKind::peak_of_set;
    s.normalisation.note = s_note.at(i);
    s.normalisation.reference_uv = row_of(s_ref, i);
    exercise::SetSummary& m = s.summary;
    m.reps = static_cast<int>(s_reps.at(i));
    m.partial_reps = static_cast<int>(s_partial.at(i));
    m.valid_reps = static_cast<int>(s_valid.at(i));
    for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
      const std::size_t k = (i * exercise::kVerdictCount + v) * 4;
      m.verdicts[v] = {static_cast<int>(s_counts.at(k)), static_cast<int>(s_counts.at(k + 1)),
                       static_cast<int>(s_counts.at(k + 2)), static_cast<int>(s_counts.at(k + 3))};
    }
    m.median_mean_pct = row_of(s_mean, i);
    m.median_peak_pct = row_of(s_peak, i);
    m.median_onset_rel_ms = row_of(s_onset, i);
    m.median_frequency_trend_pct_per_rep = row_of(s_mdf, i);
    m.finsm5_trend_pct_per_rep = row_of(s_fin, i);
    m.gmax_to_es = ratios_from(s_gmax, i);
    m.gmed_to_es = ratios_from(s_gmed, i);
    m.gmax_to_es_mean_of_rep_ratios = s_gmax_m.at(i);
    m.gmed_to_es_mean_of_rep_ratios = s_gmed_m.at(i);
    m.gmax_symmetry_pct = s_gmax_si.at(i);
    m.gmed_symmetry_pct = s_gmed_si.at(i);
    a.sets.push_back(std::move(s));
  }

  GroupHandle reps = open_group(root, "reps", w);
  const auto set_index = read_any<std::uint32_t>(reps.get(), "set_index", w);
  const auto rep_index = read_any<std::uint32_t>(reps.get(), "rep_index", w);
  const std::size_t nr = set_index.size();
  std::vector<RepScore> scores(nr);
  for (const auto& [name, member] : kRepTimeColumns) {
    const auto values = read_any<double>(reps.get(), name, w);
    for (std::size_t i = 0; i < nr; ++i) scores[i].*member = values.at(i);
  }
  const auto partial = read_any<std::uint8_t>(reps.get(), "partial", w);
  const auto valid = read_any<std::uint8_t>(reps.get(), "valid", w);
  const auto invalid_reason = read_string_column(reps.get(), "invalid_reason", w);
  const auto summary = read_string_column(reps.get(), "summary", w);
  const auto gmax = read_any<double>(reps.get(), "gmax_to_es", w);
  const auto gmed = read_any<double>(reps.get(), "gmed_to_es", w);
  const auto firing = read_string_column(reps.get(), "firing_order", w);
  using C = exercise::ChannelRepScore;
  const std::pair<const char*, double C::*> channel_doubles[] = {
      {"onset_s", &C::onset_s},
      {"onset_rel_ms", &C::onset_rel_ms},
      {"mean_concentric_pct", &C::mean_concentric_pct},
      {"mean_hold_pct", &C::mean_hold_pct},
      {"mean_pct", &C::mean_pct},
      {"peak_pct", &C::peak_pct},
      {"median_frequency_hz", &C::median_frequency_hz},
      {"finsm5", &C::finsm5}};
  for (RepScore& s : scores) s.channels.resize(nch);
  for (const auto& [name, member] : channel_doubles) {
    const auto m = read_any<double>(reps.get(), name, w);
    for (std::size_t i = 0; i < nr; ++i) {
      for (std::size_t c = 0; c < nch; ++c) scores[i].channels[c].*member = m.at(i * nch + c);
    }
  }
  const auto ch_valid = read_any<std::uint8_t>(reps.get(), "channel_valid", w);
  const auto ch_detected = read_any<std::uint8_t>(reps.get(), "onset_detected", w);
  const auto ch_reason = read_string_column(reps.get(), "channel_invalid_reason", w);
  for (std::size_t i = 0; i < nr; ++i) {
    RepScore& s = scores[i];
    s.index = rep_index.at(i);
    s.partial = partial.at(i) != 0;
    s.valid = valid.at(i) != 0;
    s.invalid_reason = invalid_reason.at(i);
    s.summary = summary.at(i);
    s.gmax_to_es = ratios_from(gmax, i);
    s.gmed_to_es = ratios_from(gmed, i);
    for (std::size_t c = 0; c < nch; ++c) {
      s.channels[c].valid = ch_valid.at(i * nch + c) != 0;
      s.channels[c].onset_detected = ch_detected.at(i * nch + c) != 0;
      s.channels[c].invalid_reason = ch_reason.at(i * nch + c);
    }
    // Firing order: labels joined by '>' back to channel indices.
    const std::string& order = firing.at(i);
    std::size_t pos = 0;
    while (pos < order.size()) {
      const std::size_t end = std::min(order.find('>', pos), order.size());
      const std::string label = order.substr(pos, end - pos);
      for (std::size_t c = 0; c < nch; ++c) {
        if (labels[c] == label) s.firing_order.push_back(c);
      }
      pos = end + 1;
    }
  }
  GroupHandle verdicts = open_group(reps.get(), "verdicts", w);
  for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
    GroupHandle g = open_group(verdicts.get(), std::string(exercise::kVerdictNames[v]).c_str(), w);
    const auto state = read_any<std::uint8_t>(g.get(), "state", w);
    const auto value = read_any<double>(g.get(), "value", w);
    const auto threshold = read_any<double>(g.get(), "threshold", w);
    const auto reason = read_string_column(g.get(), "reason", w);
    for (std::size_t i = 0; i < nr; ++i) {
      auto& target = const_cast<exercise::Verdict&>(exercise::verdict_at(scores[i].verdicts, v));
      target.state = static_cast<exercise::VerdictState>(state.at(i));
      target.value = value.at(i);
      target.threshold = threshold.at(i);
      target.reason = reason.at(i);
    }
  }
  for (std::size_t i = 0; i < nr; ++i) {
    if (set_index[i] >= a.sets.size()) {
      throw std::runtime_error(
          fmt::format("{}: rep {} refers to set {} of {}", path.string(), i, set_index[i], a.sets.size()));
    }
    a.sets[set_index[i]].reps.push_back(std::move(scores[i]));
  }
  for (const SetAnalysis& s : a.sets) {
    a.reps += static_cast<int>(s.reps.size());
    for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
      a.verdicts[v].yes += s.summary.verdicts[v].yes;
      a.verdicts[v].no += s.summary.verdicts[v].no;
      a.verdicts[v].not_available += s.summary.verdicts[v].not_available;
      a.verdicts[v].invalid += s.summary.verdicts[v].invalid;
    }
  }

  GroupHandle env = open_group(root, "envelopes", w);
  r.envelope_rate_hz = read_scalar_attribute<double>(env.get(), "rate_hz", w);
  r.envelopes_uv = read_any<float>(env.get(), "emg_envelope", w);
  r.driving_angle_deg = read_any<float>(env.get(), "driving_angle_deg", w);
  return r;
}

}  // namespace glutescope::pipeline
