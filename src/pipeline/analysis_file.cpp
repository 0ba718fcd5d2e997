#include "pipeline/analysis_file.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include <fmt/core.h>

#include "store/analysis_sidecar.hpp"

namespace glutescope::pipeline {
namespace {

using exercise::ChannelRepScore;
using exercise::MotionSource;
using exercise::RepScore;
using exercise::SetAnalysis;
using exercise::SideRatios;
using store::kAnyExtent;
using store::SidecarImage;
using store::SidecarReader;
using Shape = std::vector<std::optional<std::uint64_t>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename Row, typename F>
auto column(const std::vector<Row>& rows, F get) {
  std::vector<std::decay_t<decltype(get(rows.front()))>> out;
  out.reserve(rows.size());
  for (const Row& r : rows) out.push_back(get(r));
  return out;
}

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

// Per-channel [reps x channels] doubles of /reps, shared likewise.
constexpr std::pair<const char*, double ChannelRepScore::*> kRepChannelColumns[] = {
    {"onset_s", &ChannelRepScore::onset_s},
    {"onset_rel_ms", &ChannelRepScore::onset_rel_ms},
    {"mean_concentric_pct", &ChannelRepScore::mean_concentric_pct},
    {"mean_hold_pct", &ChannelRepScore::mean_hold_pct},
    {"mean_pct", &ChannelRepScore::mean_pct},
    {"peak_pct", &ChannelRepScore::peak_pct},
    {"median_frequency_hz", &ChannelRepScore::median_frequency_hz},
    {"finsm5", &ChannelRepScore::finsm5}};

// reps/onset_state codes (exercise::OnsetState), written as the dataset's attribute.
constexpr const char* kOnsetStateCodes =
    "0=not_scored,1=detected,2=none,3=already_active,4=continuously_active,5=baseline_not_quiet";

// Flattened view of every rep with its set, in set order.
struct RepRef {
  std::uint32_t set_index;
  const RepScore* rep;
};
std::vector<RepRef> all_reps(const exercise::SessionAnalysis& a) {
  std::vector<RepRef> out;
  for (std::size_t s = 0; s < a.sets.size(); ++s) {
    for (const RepScore& r : a.sets[s].reps) out.push_back({static_cast<std::uint32_t>(s), &r});
  }
  return out;
}

// Rows of [n x 4] side ratios: left, right, ratio of means, mean of ratios.
std::vector<double> ratios_matrix(const std::vector<SideRatios>& rows) {
  std::vector<double> m;
  m.reserve(rows.size() * 4);
  for (const SideRatios& r : rows)
    m.insert(m.end(), {r.per_side[0], r.per_side[1], r.ratio_of_means, r.mean_of_ratios});
  return m;
}
SideRatios ratios_from(const std::vector<double>& m, std::size_t row) {
  SideRatios r;
  r.per_side = {m[row * 4], m[row * 4 + 1]};
  r.ratio_of_means = m[row * 4 + 2];
  r.mean_of_ratios = m[row * 4 + 3];
  return r;
}

// One [rows x nch] matrix from a per-row vector each padded (NaN) or cut to nch.
template <typename Row, typename F>
std::vector<double> per_channel_matrix(const std::vector<Row>& rows, std::size_t nch, F get) {
  std::vector<double> m;
  m.reserve(rows.size() * nch);
  for (const Row& x : rows) {
    std::vector<double> row = get(x);
    row.resize(nch, kNaN);
    m.insert(m.end(), row.begin(), row.end());
  }
  return m;
}

void add_root_and_channels(SidecarImage& img, const AnalysisResult& r) {
  const exercise::SessionAnalysis& a = r.analysis;
  img.root_attributes = {{"software_version", r.software_version},
                         {"scoring_version", a.software_version},
                         {"settings_toml", r.settings_toml},
                         {"source_file", r.source},
                         {"input_hash", r.input_hash},
                         {"subject_id", r.subject_id},
                         {"session_start_time", r.session_start_time},
                         {"mode", r.mode},
                         {"emg_gap_samples", std::uint64_t{r.emg_gap_samples}}};
  img.dataset("warnings", {a.warnings.size()}, a.warnings);
  const std::size_t nch = r.channels();
  img.group("channels");
  const auto& emg = r.montage.emg;
  img.dataset("channels/label", {nch}, column(emg, [](const EmgChannel& c) { return c.label; }));
  img.dataset("channels/muscle", {nch, 1},
              column(emg, [](const EmgChannel& c) { return static_cast<std::uint8_t>(c.muscle); }));
  img.dataset("channels/side", {nch, 1},
              column(emg, [](const EmgChannel& c) { return static_cast<std::uint8_t>(c.side); }));
  std::vector<double> mvc = a.mvc_reference_uv;
  mvc.resize(nch, kNaN);
  img.dataset("channels/mvc_reference_uv", {nch, 1}, std::move(mvc));
}

void add_sets(SidecarImage& img, const AnalysisResult& r) {
  using S = SetAnalysis;
  const std::vector<S>& sets = r.analysis.sets;
  const std::size_t ns = sets.size(), nch = r.channels();
  img.group("sets");
  const auto u8 = [&](const char* name, auto get) {
    img.dataset(fmt::format("sets/{}", name), {ns, 1},
                column(sets, [&](const S& x) { return static_cast<std::uint8_t>(get(x)); }));
  };
  const auto u32 = [&](const char* name, auto get) {
    img.dataset(fmt::format("sets/{}", name), {ns, 1},
                column(sets, [&](const S& x) { return static_cast<std::uint32_t>(get(x)); }));
  };
  const auto f64 = [&](const char* name, auto get) {
    img.dataset(fmt::format("sets/{}", name), {ns, 1},
                column(sets, [&](const S& x) { return static_cast<double>(get(x)); }));
  };
  const auto str = [&](const char* name, auto get) {
    img.dataset(fmt::format("sets/{}", name), {ns},
                column(sets, [&](const S& x) { return std::string(get(x)); }));
  };
  const auto per_channel = [&](const char* name, auto get) {
    img.dataset(fmt::format("sets/{}", name), {ns, nch}, per_channel_matrix(sets, nch, get));
  };
  u8("exercise", [](const S& x) { return x.exercise; });
  f64("start_s", [](const S& x) { return x.start_s; });
  f64("stop_s", [](const S& x) { return x.stop_s; });
  u8("status", [](const S& x) { return x.status; });
  str("status_text", [](const S& x) { return exercise::to_string(x.status); });
  str("status_message", [](const S& x) { return x.status_message; });
  str("motion_source", [](const S& x) { return exercise::to_string(x.motion_source); });
  str("motion_detail", [](const S& x) { return x.motion_detail; });
  str("exercise_name", [](const S& x) { return x.exercise_name; });
  u8("working_side", [](const S& x) { return x.working_side; });
  str("normalisation", [](const S& x) { return exercise::to_string(x.normalisation.kind); });
  str("normalisation_note", [](const S& x) { return x.normalisation.note; });
  per_channel("normalisation_reference_uv", [](const S& x) { return x.normalisation.reference_uv; });
  u32("reps", [](const S& x) { return x.summary.reps; });
  u32("partial_reps", [](const S& x) { return x.summary.partial_reps; });
  u32("valid_reps", [](const S& x) { return x.summary.valid_reps; });
  std::vector<std::uint32_t> counts;
  for (const S& x : sets) {
    for (const exercise::VerdictCounts& c : x.summary.verdicts) {
      for (int v : {c.yes, c.no, c.not_available, c.invalid}) counts.push_back(static_cast<std::uint32_t>(v));
    }
  }
  std::string names;
  for (auto n : exercise::kVerdictNames) names += (names.empty() ? "" : ",") + std::string(n);
  img.dataset("sets/verdict_counts", {ns, exercise::kVerdictCount, 4}, std::move(counts)).attributes = {
      {"verdicts", names}, {"states", "yes,no,not_available,invalid"}};
  per_channel("median_mean_pct", [](const S& x) { return x.summary.median_mean_pct; });
  per_channel("median_peak_pct", [](const S& x) { return x.summary.median_peak_pct; });
  per_channel("median_onset_rel_ms", [](const S& x) { return x.summary.median_onset_rel_ms; });
  per_channel("median_frequency_trend_pct_per_rep",
              [](const S& x) { return x.summary.median_frequency_trend_pct_per_rep; });
  per_channel("finsm5_trend_pct_per_rep", [](const S& x) { return x.summary.finsm5_trend_pct_per_rep; });
  img.dataset("sets/gmax_to_es", {ns, 4},
              ratios_matrix(column(sets, [](const S& x) { return x.summary.gmax_to_es; })));
  img.dataset("sets/gmed_to_es", {ns, 4},
              ratios_matrix(column(sets, [](const S& x) { return x.summary.gmed_to_es; })));
  f64("gmax_to_es_mean_of_rep_ratios", [](const S& x) { return x.summary.gmax_to_es_mean_of_rep_ratios; });
  f64("gmed_to_es_mean_of_rep_ratios", [](const S& x) { return x.summary.gmed_to_es_mean_of_rep_ratios; });
  f64("gmax_symmetry_pct", [](const S& x) { return x.summary.gmax_symmetry_pct; });
  f64("gmed_symmetry_pct", [](const S& x) { return x.summary.gmed_symmetry_pct; });
  const auto baseline = [](auto get) { return [get](const S& x) { return column(x.onset_baseline, get); }; };
  per_channel("onset_baseline_contrast_db",
              baseline([](const exercise::SetOnsetBaseline& b) { return b.contrast_db; }));
  per_channel("onset_baseline_level",
              baseline([](const exercise::SetOnsetBaseline& b) { return b.set.mean; }));
  per_channel("onset_baseline_spread",
              baseline([](const exercise::SetOnsetBaseline& b) { return b.set.sd; }));
  per_channel("onset_baseline_source",
              baseline([](const exercise::SetOnsetBaseline& b) { return static_cast<double>(b.source); }));
}

void add_reps(SidecarImage& img, const AnalysisResult& r) {
  const std::vector<RepRef> rr = all_reps(r.analysis);
  const std::size_t nr = rr.size(), nch = r.channels();
  img.group("reps");
  img.dataset("reps/set_index", {nr, 1}, column(rr, [](const RepRef& x) { return x.set_index; }));
  img.dataset("reps/rep_index", {nr, 1},
              column(rr, [](const RepRef& x) { return static_cast<std::uint32_t>(x.rep->index); }));
  for (const auto& [name, member] : kRepTimeColumns) {
    img.dataset(fmt::format("reps/{}", name), {nr, 1},
                column(rr, [m = member](const RepRef& x) { return x.rep->*m; }));
  }
  img.dataset("reps/partial", {nr, 1},
              column(rr, [](const RepRef& x) { return static_cast<std::uint8_t>(x.rep->partial); }));
  img.dataset("reps/valid", {nr, 1},
              column(rr, [](const RepRef& x) { return static_cast<std::uint8_t>(x.rep->valid); }));
  img.dataset("reps/invalid_reason", {nr}, column(rr, [](const RepRef& x) { return x.rep->invalid_reason; }));
  img.dataset("reps/summary", {nr}, column(rr, [](const RepRef& x) { return x.rep->summary; }));
  img.dataset("reps/gmax_to_es", {nr, 4},
              ratios_matrix(column(rr, [](const RepRef& x) { return x.rep->gmax_to_es; })));
  img.dataset("reps/gmed_to_es", {nr, 4},
              ratios_matrix(column(rr, [](const RepRef& x) { return x.rep->gmed_to_es; })));
  img.dataset("reps/firing_order", {nr}, column(rr, [&](const RepRef& x) {
                std::string order;
                for (std::size_t c : x.rep->firing_order) {
                  if (!order.empty()) order += '>';
                  order += r.montage.emg.at(c).label;
                }
                return order;
              }));
  for (const auto& [name, member] : kRepChannelColumns) {
    img.dataset(fmt::format("reps/{}", name), {nr, nch},
                per_channel_matrix(rr, nch, [&, m = member](const RepRef& x) {
                  return column(x.rep->channels, [m](const ChannelRepScore& c) { return c.*m; });
                }));
  }
  std::vector<std::uint8_t> valid, detected, state;
  std::vector<std::string> reasons;
  for (const RepRef& x : rr) {
    for (std::size_t c = 0; c < nch; ++c) {
      const bool have = c < x.rep->channels.size();
      valid.push_back(have && x.rep->channels[c].valid ? 1 : 0);
      detected.push_back(have && x.rep->channels[c].onset_detected ? 1 : 0);
      state.push_back(static_cast<std::uint8_t>(have ? x.rep->channels[c].onset_state
                                                     : exercise::OnsetState::not_scored));
      reasons.push_back(have ? x.rep->channels[c].invalid_reason : std::string());
    }
  }
  img.dataset("reps/channel_valid", {nr, nch}, std::move(valid));
  img.dataset("reps/onset_detected", {nr, nch}, std::move(detected));
  img.dataset("reps/onset_state", {nr, nch}, std::move(state)).attributes = {
      {"state_codes", kOnsetStateCodes}};
  // A matrix of strings even without channels ([reps x 1] of nothing): h5py reads it as 2-D either way.
  img.dataset("reps/channel_invalid_reason", {nch == 0 ? 0 : nr, nch == 0 ? 1 : nch}, std::move(reasons));
  img.group("reps/verdicts").attributes = {{"state_codes", "0=no,1=yes,2=not_available,3=invalid"}};
  for (std::size_t i = 0; i < exercise::kVerdictCount; ++i) {
    const std::string g = fmt::format("reps/verdicts/{}", exercise::kVerdictNames[i]);
    const auto v = [i](const RepRef& x) -> const exercise::Verdict& {
      return exercise::verdict_at(x.rep->verdicts, i);
    };
    img.group(g);
    img.dataset(g + "/state", {nr, 1},
                column(rr, [&](const RepRef& x) { return static_cast<std::uint8_t>(v(x).state); }));
    img.dataset(g + "/state_text", {nr},
                column(rr, [&](const RepRef& x) { return std::string(exercise::to_string(v(x).state)); }));
    img.dataset(g + "/value", {nr, 1}, column(rr, [&](const RepRef& x) { return v(x).value; }));
    img.dataset(g + "/threshold", {nr, 1}, column(rr, [&](const RepRef& x) { return v(x).threshold; }));
    img.dataset(g + "/reason", {nr}, column(rr, [&](const RepRef& x) { return v(x).reason; }));
  }
}

void add_envelopes(SidecarImage& img, const AnalysisResult& r) {
  const std::size_t nch = r.channels();
  img.group("envelopes").attributes = {{"rate_hz", r.envelope_rate_hz}, {"unit", "uV"}};
  img.dataset("envelopes/emg_envelope", {nch == 0 ? 0 : r.envelopes_uv.size() / nch, nch}, r.envelopes_uv);
  img.dataset("envelopes/driving_angle_deg", {r.driving_angle_deg.size(), 1}, r.driving_angle_deg);
}

// ---- reading: every dataset's rank, shape and type is checked by SidecarReader::read; here the values.

[[noreturn]] void bad_value(const SidecarReader& in, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", in.path().string(), what));
}

template <typename E>
E enum_in(const SidecarReader& in, std::uint8_t value, std::initializer_list<E> allowed, const char* what) {
  for (E e : allowed) {
    if (static_cast<std::uint8_t>(e) == value) return e;
  }
  bad_value(in, fmt::format("{} code {} is not one this glutescope knows", what, value));
}

void read_channels(const SidecarReader& in, AnalysisResult& r) {
  const auto labels = in.read<std::string>("channels/label", {kAnyExtent}).values;
  const std::uint64_t nch = labels.size();
  const auto muscles = in.read<std::uint8_t>("channels/muscle", {nch, 1}).values;
  const auto sides = in.read<std::uint8_t>("channels/side", {nch, 1}).values;
  for (std::size_t c = 0; c < nch; ++c) {
    EmgChannel e;
    e.label = labels[c];
    e.muscle = enum_in(in, muscles[c],
                       {Muscle::gluteus_maximus, Muscle::gluteus_medius, Muscle::erector_spinae_lumbar,
                        Muscle::biceps_femoris, Muscle::tensor_fasciae_latae, Muscle::other},
                       "muscle");
    e.side = enum_in(in, sides[c], {Side::left, Side::right, Side::midline, Side::unknown}, "side");
    r.montage.emg.push_back(e);
  }
  r.analysis.mvc_reference_uv = in.read<double>("channels/mvc_reference_uv", {nch, 1}).values;
}

// sets/motion_source, motion_detail, exercise_name (format 2.2; absent before: the IMU, the exercise's name).
void read_set_motion(const SidecarReader& in, std::vector<SetAnalysis>& sets) {
  const std::size_t ns = sets.size();
  if (in.format_version() < store::FormatVersion{2, 2}) {
    for (SetAnalysis& s : sets) {
      s.motion_source = s.reps.empty() && s.summary.reps == 0 ? MotionSource::none : MotionSource::imu;
      s.exercise_name = std::string(to_string(s.exercise));
    }
    return;
  }
  const auto read = [&](const char* name) {
    return in.read<std::string>(fmt::format("sets/{}", name), {ns}).values;
  };
  const auto source = read("motion_source"), detail = read("motion_detail"), name = read("exercise_name");
  for (std::size_t i = 0; i < ns; ++i) {
    bool known = false;
    for (auto m : {MotionSource::none, MotionSource::imu, MotionSource::accelerometer, MotionSource::angle,
                   MotionSource::events, MotionSource::emg}) {
      if (exercise::to_string(m) == source[i]) sets[i].motion_source = m, known = true;
    }
    if (!known) bad_value(in, fmt::format("set {} motion_source '{}'", i, source[i]));
    sets[i].motion_detail = detail[i];
    sets[i].exercise_name = name[i];
  }
}

// sets/onset_baseline_* (format 2.1; absent from 2.0): per channel of a scored set, NaN rows otherwise.
void read_set_baselines(const SidecarReader& in, std::size_t nch, std::vector<SetAnalysis>& sets) {
  if (in.format_version() < store::FormatVersion{2, 1}) return;
  const std::size_t ns = sets.size();
  const auto read = [&](const char* name) {
    return in.read<double>(fmt::format("sets/{}", name), {ns, nch}).values;
  };
  const auto contrast = read("onset_baseline_contrast_db"), level = read("onset_baseline_level"),
             spread = read("onset_baseline_spread"), source = read("onset_baseline_source");
  for (std::size_t i = 0; i < ns; ++i) {
    for (std::size_t c = 0; c < nch; ++c) {
      const std::size_t k = i * nch + c;
      if (std::isnan(source[k])) continue;
      if (!(source[k] >= 0.0 && source[k] <= 2.0) || source[k] != std::floor(source[k]))
        bad_value(in, fmt::format("sets/onset_baseline_source value {}", source[k]));
      sets[i].onset_baseline.resize(nch);
      exercise::SetOnsetBaseline& b = sets[i].onset_baseline[c];
      b.source = static_cast<exercise::BaselineSource>(static_cast<int>(source[k]));
      b.set.mean = level[k];
      b.set.sd = spread[k];
      b.contrast_db = contrast[k];
    }
  }
}

// Set i's yes/no/not_available/invalid counts per verdict from /sets/verdict_counts [sets x verdicts x 4].
void read_verdict_counts(const std::vector<std::uint32_t>& counts, std::size_t i, exercise::SetSummary& m) {
  for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
    const std::size_t k = (i * exercise::kVerdictCount + v) * 4;
    m.verdicts[v] = {static_cast<int>(counts[k]), static_cast<int>(counts[k + 1]),
                     static_cast<int>(counts[k + 2]), static_cast<int>(counts[k + 3])};
  }
}

void read_sets(const SidecarReader& in, AnalysisResult& r) {
  const std::uint64_t nch = r.channels();
  const auto ex = in.read<std::uint8_t>("sets/exercise", {kAnyExtent, 1}).values;
  const std::uint64_t ns = ex.size();
  const auto f64 = [&](const char* name) {
    return in.read<double>(fmt::format("sets/{}", name), {ns, 1}).values;
  };
  const auto u8 = [&](const char* name) {
    return in.read<std::uint8_t>(fmt::format("sets/{}", name), {ns, 1}).values;
  };
  const auto u32 = [&](const char* name) {
    return in.read<std::uint32_t>(fmt::format("sets/{}", name), {ns, 1}).values;
  };
  const auto str = [&](const char* name) {
    return in.read<std::string>(fmt::format("sets/{}", name), {ns}).values;
  };
  const auto per_channel = [&](const char* name) {
    return in.read<double>(fmt::format("sets/{}", name), {ns, nch}).values;
  };
  const auto ratios = [&](const char* name) {
    return in.read<double>(fmt::format("sets/{}", name), {ns, 4}).values;
  };
  const auto start = f64("start_s"), stop = f64("stop_s");
  const auto status = u8("status"), side = u8("working_side");
  const auto message = str("status_message"), norm = str("normalisation"), note = str("normalisation_note");
  const auto reference = per_channel("normalisation_reference_uv");
  const auto reps = u32("reps"), partial = u32("partial_reps"), valid = u32("valid_reps");
  const auto counts = in.read<std::uint32_t>("sets/verdict_counts", {ns, exercise::kVerdictCount, 4}).values;
  const auto mean = per_channel("median_mean_pct"), peak = per_channel("median_peak_pct");
  const auto onset = per_channel("median_onset_rel_ms");
  const auto mdf = per_channel("median_frequency_trend_pct_per_rep"),
             fin = per_channel("finsm5_trend_pct_per_rep");
  const auto gmax = ratios("gmax_to_es"), gmed = ratios("gmed_to_es");
  const auto gmax_m = f64("gmax_to_es_mean_of_rep_ratios"), gmed_m = f64("gmed_to_es_mean_of_rep_ratios");
  const auto gmax_si = f64("gmax_symmetry_pct"), gmed_si = f64("gmed_symmetry_pct");
  const auto row_of = [nch](const std::vector<double>& m, std::size_t i) {
    return std::vector<double>(m.begin() + static_cast<std::ptrdiff_t>(i * nch),
                               m.begin() + static_cast<std::ptrdiff_t>((i + 1) * nch));
  };
  for (std::size_t i = 0; i < ns; ++i) {
    SetAnalysis s;
    s.exercise = enum_in(in, ex[i], {Exercise::bridge, Exercise::clamshell, Exercise::mvc, Exercise::other},
                         "exercise");
    s.start_s = start[i];
    s.stop_s = stop[i];
    s.status = enum_in(in, status[i],
                       {exercise::SetStatus::ok, exercise::SetStatus::no_movement,
                        exercise::SetStatus::no_imu, exercise::SetStatus::unsupported},
                       "set status");
    s.status_message = message[i];
    s.working_side = enum_in(in, side[i], {Side::left, Side::right, Side::midline, Side::unknown}, "side");
    if (norm[i] != "mvic" && norm[i] != "peak_of_set")
      bad_value(in, fmt::format("set {} normalisation '{}'", i, norm[i]));
    s.normalisation.kind =
        norm[i] == "mvic" ? exercise::NormalisationKind::mvic : exercise::NormalisationKind::peak_of_set;
    s.normalisation.note = note[i];
    s.normalisation.reference_uv = row_of(reference, i);
    exercise::SetSummary& m = s.summary;
    m.reps = static_cast<int>(reps[i]);
    m.partial_reps = static_cast<int>(partial[i]);
    m.valid_reps = static_cast<int>(valid[i]);
    read_verdict_counts(counts, i, m);
    m.median_mean_pct = row_of(mean, i);
    m.median_peak_pct = row_of(peak, i);
    m.median_onset_rel_ms = row_of(onset, i);
    m.median_frequency_trend_pct_per_rep = row_of(mdf, i);
    m.finsm5_trend_pct_per_rep = row_of(fin, i);
    m.gmax_to_es = ratios_from(gmax, i);
    m.gmed_to_es = ratios_from(gmed, i);
    m.gmax_to_es_mean_of_rep_ratios = gmax_m[i];
    m.gmed_to_es_mean_of_rep_ratios = gmed_m[i];
    m.gmax_symmetry_pct = gmax_si[i];
    m.gmed_symmetry_pct = gmed_si[i];
    r.analysis.sets.push_back(std::move(s));
  }
  read_set_baselines(in, nch, r.analysis.sets);
  read_set_motion(in, r.analysis.sets);
}

// Firing order: channel labels joined by '>' back to channel indices.
std::vector<std::size_t> firing_order_of(const std::string& order, const std::vector<EmgChannel>& channels) {
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  while (pos < order.size()) {
    const std::size_t end = std::min(order.find('>', pos), order.size());
    const std::string label = order.substr(pos, end - pos);
    for (std::size_t c = 0; c < channels.size(); ++c) {
      if (channels[c].label == label) out.push_back(c);
    }
    pos = end + 1;
  }
  return out;
}

void read_verdicts(const SidecarReader& in, std::vector<RepScore>& scores) {
  const std::uint64_t nr = scores.size();
  for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
    const std::string g = fmt::format("reps/verdicts/{}", exercise::kVerdictNames[v]);
    const auto state = in.read<std::uint8_t>(g + "/state", {nr, 1}).values;
    const auto value = in.read<double>(g + "/value", {nr, 1}).values;
    const auto threshold = in.read<double>(g + "/threshold", {nr, 1}).values;
    const auto reason = in.read<std::string>(g + "/reason", {nr}).values;
    for (std::size_t i = 0; i < nr; ++i) {
      auto& target = const_cast<exercise::Verdict&>(exercise::verdict_at(scores[i].verdicts, v));
      target.state = enum_in(in, state[i],
                             {exercise::VerdictState::no, exercise::VerdictState::yes,
                              exercise::VerdictState::not_available, exercise::VerdictState::invalid},
                             "verdict state");
      target.value = value[i];
      target.threshold = threshold[i];
      target.reason = reason[i];
    }
  }
}

void read_reps(const SidecarReader& in, AnalysisResult& r) {
  const std::uint64_t nch = r.channels();
  const auto set_index = in.read<std::uint32_t>("reps/set_index", {kAnyExtent, 1}).values;
  const std::uint64_t nr = set_index.size();
  const auto rep_index = in.read<std::uint32_t>("reps/rep_index", {nr, 1}).values;
  std::vector<RepScore> scores(nr);
  for (const auto& [name, member] : kRepTimeColumns) {
    const auto values = in.read<double>(fmt::format("reps/{}", name), {nr, 1}).values;
    for (std::size_t i = 0; i < nr; ++i) scores[i].*member = values[i];
  }
  const auto partial = in.read<std::uint8_t>("reps/partial", {nr, 1}).values;
  const auto valid = in.read<std::uint8_t>("reps/valid", {nr, 1}).values;
  const auto invalid_reason = in.read<std::string>("reps/invalid_reason", {nr}).values;
  const auto summary = in.read<std::string>("reps/summary", {nr}).values;
  const auto gmax = in.read<double>("reps/gmax_to_es", {nr, 4}).values;
  const auto gmed = in.read<double>("reps/gmed_to_es", {nr, 4}).values;
  const auto firing = in.read<std::string>("reps/firing_order", {nr}).values;
  for (RepScore& s : scores) s.channels.resize(nch);
  for (const auto& [name, member] : kRepChannelColumns) {
    const auto m = in.read<double>(fmt::format("reps/{}", name), {nr, nch}).values;
    for (std::size_t i = 0; i < nr; ++i) {
      for (std::size_t c = 0; c < nch; ++c) scores[i].channels[c].*member = m[i * nch + c];
    }
  }
  const auto ch_valid = in.read<std::uint8_t>("reps/channel_valid", {nr, nch}).values;
  const auto ch_detected = in.read<std::uint8_t>("reps/onset_detected", {nr, nch}).values;
  // Format 2.0 has no onset_state: a detected onset or none (the other states did not exist).
  std::vector<std::uint8_t> ch_state;
  if (in.format_version() >= store::FormatVersion{2, 1}) {
    ch_state = in.read<std::uint8_t>("reps/onset_state", {nr, nch}).values;
    for (std::uint8_t v : ch_state) {
      if (v >= exercise::kOnsetStateCount) bad_value(in, fmt::format("reps/onset_state code {}", v));
    }
  }
  const auto ch_reason =
      in.read<std::string>("reps/channel_invalid_reason", {nch == 0 ? 0 : nr, nch == 0 ? 1 : nch}).values;
  for (std::size_t i = 0; i < nr; ++i) {
    RepScore& s = scores[i];
    s.index = rep_index[i];
    s.partial = partial[i] != 0;
    s.valid = valid[i] != 0;
    s.invalid_reason = invalid_reason[i];
    s.summary = summary[i];
    s.gmax_to_es = ratios_from(gmax, i);
    s.gmed_to_es = ratios_from(gmed, i);
    for (std::size_t c = 0; c < nch; ++c) {
      s.channels[c].valid = ch_valid[i * nch + c] != 0;
      s.channels[c].onset_detected = ch_detected[i * nch + c] != 0;
      s.channels[c].onset_state = !ch_state.empty() ? static_cast<exercise::OnsetState>(ch_state[i * nch + c])
                                  : !s.channels[c].valid         ? exercise::OnsetState::not_scored
                                  : s.channels[c].onset_detected ? exercise::OnsetState::detected
                                                                 : exercise::OnsetState::not_detected;
      s.channels[c].invalid_reason = ch_reason[i * nch + c];
    }
    s.firing_order = firing_order_of(firing[i], r.montage.emg);
  }
  read_verdicts(in, scores);
  exercise::SessionAnalysis& a = r.analysis;
  for (std::size_t i = 0; i < nr; ++i) {
    if (set_index[i] >= a.sets.size()) {
      bad_value(in, fmt::format("rep {} refers to set {} of {}", i, set_index[i], a.sets.size()));
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
}

}  // namespace

void write_analysis_file(const AnalysisResult& r, const std::filesystem::path& out) {
  SidecarImage img;
  add_root_and_channels(img, r);
  add_sets(img, r);
  add_reps(img, r);
  add_envelopes(img, r);
  store::write_sidecar(img, out);
}

AnalysisPipelineSettings read_analysis_file_settings(const std::filesystem::path& path) {
  const std::string text = store::sidecar_settings_toml(path);
  try {
    return parse_analysis_settings(text, path.string() + " (settings_toml)");
  } catch (const ConfigError& e) {
    // e.what() names "<path> (settings_toml)" and the key.
    throw std::runtime_error(fmt::format("{} (the settings this analysis was made with)", e.what()));
  }
}

AnalysisResult read_analysis_file(const std::filesystem::path& path) {
  const SidecarReader in(path);
  AnalysisResult r;
  r.software_version = in.string_attribute("", "software_version");
  r.settings_toml = in.string_attribute("", "settings_toml");
  r.source = in.string_attribute("", "source_file");
  r.input_hash = in.string_attribute("", "input_hash");
  r.subject_id = in.string_attribute("", "subject_id");
  r.session_start_time = in.string_attribute("", "session_start_time");
  r.mode = in.string_attribute("", "mode");
  r.emg_gap_samples = in.u64_attribute("", "emg_gap_samples");
  exercise::SessionAnalysis& a = r.analysis;
  a.software_version = in.string_attribute("", "scoring_version");
  a.warnings = in.read<std::string>("warnings", {kAnyExtent}).values;
  // The settings the result was made with: a report re-analyses with them, so text this glutescope cannot
  // parse is an error (never silently the defaults).
  try {
    a.settings = parse_analysis_settings(r.settings_toml, path.string() + " (settings_toml)").scoring;
  } catch (const ConfigError& e) {
    throw std::runtime_error(fmt::format("{} (the settings this analysis was made with)", e.what()));
  }
  read_channels(in, r);
  read_sets(in, r);
  read_reps(in, r);
  r.envelope_rate_hz = in.f64_attribute("envelopes", "rate_hz");
  const std::uint64_t nch = r.channels();
  r.envelopes_uv = in.read<float>("envelopes/emg_envelope", {kAnyExtent, nch}).values;
  r.driving_angle_deg = in.read<float>("envelopes/driving_angle_deg", {kAnyExtent, 1}).values;
  return r;
}

}  // namespace glutescope::pipeline
