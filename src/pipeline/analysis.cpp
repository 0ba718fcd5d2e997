#include "pipeline/analysis.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <stdexcept>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "pipeline/markers.hpp"
#include "pipeline/stream_clock.hpp"
#include "store/session_reader.hpp"

namespace glutescope::pipeline {
namespace {

// Running content hash of byte spans: one CRC-32 (zlib, ~GB/s) plus the byte count. An identity of the raw
// datasets (detects any change of samples), not a cryptographic digest.
class ContentHash {
 public:
  template <typename T>
  void add(const std::vector<T>& values) {
    const auto* bytes = reinterpret_cast<const Bytef*>(values.data());
    std::size_t left = values.size() * sizeof(T);
    bytes_ += left;
    while (left > 0) {
      const auto n = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
      crc_ = crc32(crc_, bytes, n);
      bytes += n;
      left -= n;
    }
  }
  // 16-bit counts hashed as the int32 values they widen to: the identity of a recording does not depend on
  // the width the reader holds it in (sidecars written before counts were kept at 16 bits still match).
  void add_as_int32(std::span<const std::int16_t> values) {
    constexpr std::size_t kChunk = 1U << 16;
    std::vector<std::int32_t> wide;
    for (std::size_t at = 0; at < values.size(); at += kChunk) {
      const auto part = values.subspan(at, std::min(kChunk, values.size() - at));
      wide.assign(part.begin(), part.end());
      add(wide);
    }
  }
  [[nodiscard]] std::string text() const { return fmt::format("crc32:{:08x}-bytes:{}", crc_, bytes_); }

 private:
  uLong crc_ = crc32(0L, Z_NULL, 0);
  std::uint64_t bytes_ = 0;
};

// Runs of sample indices absent from `index` (sorted, unique), as gaps of `stream`.
void add_missing_runs(const std::vector<std::uint64_t>& index, StreamKind stream, std::uint8_t sensor,
                      std::vector<Gap>& gaps) {
  std::uint64_t expected = 0;
  for (std::uint64_t i : index) {
    if (i > expected) {
      Gap g;
      g.stream = stream;
      g.sensor = sensor;
      g.start_sample = expected;
      g.count = i - expected;
      gaps.push_back(g);
    }
    expected = i + 1;
  }
}

// EMG rows read from the file and the sample-index span they are placed on (span − rows samples lost).
struct EmgSpan {
  std::size_t rows = 0;
  std::uint64_t span = 0;
};

// EMG rows of one width (int16 or int32) placed on their sample indices: the buffer read from the file when
// no sample was lost, else a zeroed buffer of the whole span with each row moved to its index.
template <typename T>
exercise::EmgCounts place_emg_rows(std::vector<T> counts, const std::vector<std::uint64_t>& index,
                                   const EmgSpan& span, std::size_t ch) {
  if (span.span != span.rows) {
    std::vector<T> placed(span.span * ch, T{0});
    for (std::size_t r = 0; r < span.rows; ++r) std::copy_n(&counts[r * ch], ch, &placed[index[r] * ch]);
    counts = std::move(placed);
  }
  return exercise::EmgCounts(std::move(counts));
}

// EMG: the counts as stored, 16-bit when the file's integers fit (half the memory; exercise/emg_counts.hpp),
// else 32-bit; rows are moved into place by sample index only when samples were lost (the common case, no
// gap, keeps the one buffer read from the file: no second copy, no µV conversion here). The sample index is
// read whole and checked (strictly increasing, bounded span: SessionReader) before any buffer is sized from
// its last value.
EmgSpan load_emg(const store::SessionReader& reader, const std::string& source, ContentHash& hash,
                 exercise::SessionData& d) {
  const std::size_t ch = reader.emg_channels();
  if (d.montage.emg.size() != ch) {
    throw std::runtime_error(fmt::format("{}: montage lists {} EMG channels but the file stores {}", source,
                                         d.montage.emg.size(), ch));
  }
  std::vector<std::int16_t> narrow;
  std::vector<std::int32_t> wide;
  if (reader.emg_counts_fit_int16()) {
    narrow = reader.emg_counts_int16();
    hash.add_as_int32(narrow);
  } else {
    wide = reader.emg_counts();
    hash.add(wide);
  }
  EmgSpan out;
  out.rows = ch == 0 ? 0 : (narrow.size() + wide.size()) / ch;
  // Checked in batches; kept only when rows were lost (else it is 0, 1, ..., rows - 1).
  out.span = reader.checked_emg_sample_span();
  std::vector<std::uint64_t> index;
  if (out.span != out.rows) {
    index = reader.checked_emg_sample_index();
    if (index.size() != out.rows) {
      throw std::runtime_error(fmt::format("{}: /acquisition/emg has {} rows of data but {} sample indices",
                                           source, out.rows, index.size()));
    }
  }
  d.emg_counts = reader.emg_counts_fit_int16() ? place_emg_rows(std::move(narrow), index, out, ch)
                                               : place_emg_rows(std::move(wide), index, out, ch);
  if (out.span != out.rows) add_missing_runs(index, StreamKind::emg, 0, d.gaps);
  return out;
}

// One IMU sensor's rows placed on `span` sample indices: a missing row holds the previous sample (the first
// one before any), and the missing runs (a tail included) are listed as gaps of `sensor`.
exercise::ImuStream hold_missing_imu_rows(store::ImuRows<std::int16_t>& raw,
                                          const std::vector<std::uint64_t>& idx, std::uint64_t span,
                                          std::uint8_t sensor, std::vector<Gap>& gaps) {
  exercise::ImuStream stream;
  if (raw.accel.size() / 3 == span) {  // every sample present (a checked index of span values)
    stream.accel = std::move(raw.accel);
    stream.gyro = std::move(raw.gyro);
    return stream;
  }
  stream.accel.assign(span * 3, 0);
  stream.gyro.assign(span * 3, 0);
  std::uint64_t next = 0;
  for (std::size_t r = 0; r <= idx.size(); ++r) {
    const std::uint64_t until = r < idx.size() ? idx[r] : span;
    for (; next < until; ++next) {  // missing rows: hold the previous sample (or the first one)
      const std::size_t from = next == 0 ? 0 : (next - 1) * 3;
      for (int a = 0; a < 3; ++a) {
        stream.accel[next * 3 + a] = next == 0 && !idx.empty() ? raw.accel[a] : stream.accel[from + a];
        stream.gyro[next * 3 + a] = next == 0 && !idx.empty() ? raw.gyro[a] : stream.gyro[from + a];
      }
    }
    if (r == idx.size()) break;
    for (int a = 0; a < 3; ++a) {
      stream.accel[next * 3 + a] = raw.accel[r * 3 + a];
      stream.gyro[next * 3 + a] = raw.gyro[r * 3 + a];
    }
    ++next;
  }
  add_missing_runs(idx, StreamKind::imu, sensor, gaps);
  if (!idx.empty() && idx.back() + 1 < span) {
    Gap g;
    g.stream = StreamKind::imu;
    g.sensor = sensor;
    g.start_sample = idx.back() + 1;
    g.count = span - g.start_sample;
    gaps.push_back(g);
  }
  return stream;
}

// IMU: one row per sample index for every sensor (the exercise module needs equal lengths); a lost sample
// repeats the previous one and is listed as a gap.
void load_imu(const store::SessionReader& reader, const std::string& source, ContentHash& hash,
              exercise::SessionData& d) {
  std::uint64_t span = 0;
  std::vector<store::ImuRows<std::int16_t>> raw(reader.imu_count());
  std::vector<std::vector<std::uint64_t>> index(reader.imu_count());
  for (std::size_t i = 0; i < reader.imu_count(); ++i) {
    raw[i] = reader.imu_counts(i);
    hash.add(raw[i].accel);
    hash.add(raw[i].gyro);
    const std::size_t rows = raw[i].accel.size() / 3;
    // Checked in batches; kept only when rows were lost (else it is 0, 1, ..., rows - 1).
    const std::uint64_t own_span = reader.checked_imu_sample_span(i);
    if (own_span != rows) {
      index[i] = reader.checked_imu_sample_index(i);
      if (index[i].size() != rows) {
        throw std::runtime_error(fmt::format("{}: IMU {} has {} rows of data but {} sample indices", source,
                                             i, rows, index[i].size()));
      }
    }
    span = std::max(span, own_span);
  }
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const std::size_t rows = raw[i].accel.size() / 3;
    if (index[i].empty() && rows != span) {  // complete, but shorter than another sensor: its tail is held
      index[i].resize(rows);
      std::iota(index[i].begin(), index[i].end(), std::uint64_t{0});
    }
    d.imu.push_back(hold_missing_imu_rows(raw[i], index[i], span, static_cast<std::uint8_t>(i), d.gaps));
  }
}

// Events are stored on the host clock (a device's also with their EMG sample); analysis places them against
// samples (stream_clock.hpp). Where the device and the operator both marked a set, the device's set wins
// (docs/RECORDING.md). An event placed outside the recording (beyond store::kEventMarginS) means a damaged
// time or clock fit: scoring it would mark sets that hold no samples, so it is an error.
void load_events(const store::SessionReader& reader, const std::string& source, const EmgSpan& emg,
                 exercise::SessionData& d) {
  d.events = sets_for_analysis(reader.events());
  const store::BlockTable first_block = reader.emg_blocks(1);  // only the first block's timing is needed
  const bool have_block = !first_block.first_row.empty() && emg.rows > 0;
  const StreamClock clock = make_stream_clock(
      reader.info().host_clock_at_start_s, reader.timing_fit(), have_block,
      have_block ? first_block.device_time_us.front() : 0,
      have_block ? reader.emg_sample_index(first_block.first_row.front(), 1).at(0) : 0, d.device.emg_rate_hz);
  to_stream_clock(d.events, clock);
  const double duration_s =
      d.device.emg_rate_hz > 0.0 ? static_cast<double>(emg.span) / d.device.emg_rate_hz : 0.0;
  for (std::size_t i = 0; i < d.events.size(); ++i) {
    const double t = d.events[i].time_s;
    if (!std::isfinite(t) || t < -store::kEventMarginS || t > duration_s + store::kEventMarginS) {
      throw std::runtime_error(
          fmt::format("{}: event {} (kind {}) falls at {} s, outside the recording's 0-{:.3f} s: damaged "
                      "event time or clock fit",
                      source, i, static_cast<int>(d.events[i].kind), t, duration_s));
    }
  }
}

}  // namespace

std::size_t AnalysisResult::rep_count() const noexcept {
  std::size_t n = 0;
  for (const exercise::SetAnalysis& s : analysis.sets) n += s.reps.size();
  return n;
}

std::string_view amplitude_unit(const exercise::Normalisation& normalisation) noexcept {
  return normalisation.kind == exercise::NormalisationKind::mvic ? "%MVIC" : "% of set peak";
}

LoadedSession load_session(const std::filesystem::path& path) {
  store::SessionReader reader(path);
  LoadedSession s;
  s.source = path.string();
  s.subject_id = reader.info().subject_id;
  s.session_start_time = reader.info().session_start_time;
  exercise::SessionData& d = s.data;
  d.device = reader.device();
  d.montage = reader.montage();
  ContentHash hash;
  const EmgSpan emg = load_emg(reader, s.source, hash, d);
  s.emg_gap_samples = emg.span - emg.rows;
  load_imu(reader, s.source, hash, d);
  load_events(reader, s.source, emg, d);
  d.angles = reader.angle_channels();
  s.input_hash = hash.text();
  return s;
}

AnalysisResult analyse(const LoadedSession& session, const AnalysisPipelineSettings& settings) {
  validate(settings);
  AnalysisResult result;
  result.software_version = std::string("glutescope ") + GLUTESCOPE_VERSION;
  result.settings_toml = to_toml(settings);
  result.source = session.source;
  result.input_hash = session.input_hash;
  result.subject_id = session.subject_id;
  result.session_start_time = session.session_start_time;
  result.mode = "offline-zero-phase";
  result.emg_gap_samples = session.emg_gap_samples;
  result.montage = session.data.montage;

  const exercise::SessionData* data = &session.data;
  exercise::SessionData with_set;  // only built for a session without set markers
  const bool has_markers = std::any_of(session.data.events.begin(), session.data.events.end(),
                                       [](const Event& e) { return e.kind == EventKind::set_start; });
  if (!has_markers && settings.sets.score_without_markers && session.data.device.emg_rate_hz > 0.0) {
    // No operator markers: the whole recording is one set of the configured exercise (the still period at the
    // start of the recording calibrates the posture, as after a set_start).
    with_set = session.data;
    Event start;
    start.kind = EventKind::set_start;
    start.time_s = 0.0;
    start.exercise = settings.sets.exercise_without_markers;
    // An `other` set's name travels in the set_start text (exercise::SetAnalysis::exercise_name).
    start.text = start.exercise == Exercise::other ? settings.sets.other_exercise_name
                                                   : "implied: no set markers in the session";
    Event stop = start;
    stop.kind = EventKind::set_stop;
    stop.time_s = static_cast<double>(with_set.emg_samples()) / with_set.device.emg_rate_hz;
    std::vector<Event> events;
    events.reserve(with_set.events.size() + 2);
    events.push_back(std::move(start));
    for (const Event& e : session.data.events) events.push_back(e);
    events.push_back(std::move(stop));
    with_set.events = std::move(events);
    data = &with_set;
  }
  result.analysis =
      exercise::analyse_session(*data, settings.scoring, settings.output.envelope_rate_hz, settings.threads);
  if (data == &with_set) {
    result.analysis.warnings.push_back(
        fmt::format("no set markers: the whole recording was analysed as one {} set (settings "
                    "sets.exercise_without_markers)",
                    exercise_without_markers_text(settings.sets)));
  }
  result.envelope_rate_hz = result.analysis.envelope_rate_hz;
  result.envelopes_uv = std::move(result.analysis.envelope_uv);
  result.analysis.envelope_uv.clear();

  // Driving angle for plots, at the envelope rate.
  const std::size_t ch = result.channels();
  const std::size_t plot_rows = ch == 0 ? 0 : result.envelopes_uv.size() / ch;
  result.driving_angle_deg.assign(plot_rows, std::numeric_limits<float>::quiet_NaN());
  for (const exercise::SetAnalysis& set : result.analysis.sets) {
    // EMG-burst sets carry an activation track there, not an angle (docs/MOTION.md "Motion sources").
    if (set.motion_source == exercise::MotionSource::emg) continue;
    for (std::size_t k = 0; k < set.angle_time_s.size(); ++k) {
      const auto p = static_cast<std::size_t>(set.angle_time_s[k] * result.envelope_rate_hz);
      if (p < plot_rows && std::isfinite(set.driving_angle_deg[k])) {
        result.driving_angle_deg[p] = static_cast<float>(set.driving_angle_deg[k]);
      }
    }
  }
  return result;
}

nlohmann::json to_json(const AnalysisResult& r) {
  nlohmann::json j = exercise::to_json(r.analysis, r.montage);
  j["source"] = r.source;
  j["input_hash"] = r.input_hash;
  j["subject_id"] = r.subject_id;
  j["session_start_time"] = r.session_start_time;
  j["scoring_version"] = r.analysis.software_version;
  j["software_version"] = r.software_version;
  j["mode"] = r.mode;
  j["settings_toml"] = r.settings_toml;
  j["emg_gap_samples"] = r.emg_gap_samples;
  for (std::size_t i = 0; i < r.analysis.sets.size() && i < j["sets"].size(); ++i) {
    j["sets"][i]["verdict_line"] = set_verdict_line(r.analysis.sets[i]);
    j["sets"][i]["segmented_from"] = segmented_from_line(r.analysis.sets[i]);
  }
  return j;
}

std::string segmented_from_line(const exercise::SetAnalysis& s) {
  if (s.motion_source == exercise::MotionSource::emg)
    return fmt::format("segmented from EMG without motion ({})", s.motion_detail);
  return fmt::format("segmented from: {}{}{}", exercise::describe(s.motion_source),
                     s.motion_detail.empty() ? "" : " (",
                     s.motion_detail.empty() ? "" : s.motion_detail + ")");
}

std::string set_verdict_line(const exercise::SetAnalysis& s) {
  if (s.reps.empty()) return s.status_message.empty() ? std::string("no reps") : s.status_message;
  const auto& v = s.summary.verdicts;
  auto majority = [&](std::size_t i) { return v[i].yes > v[i].no && v[i].yes > 0; };
  constexpr std::size_t glute = 0, lumbar = 1, late = 2, hamstring = 4, tfl = 5;  // kVerdictNames order
  if (v[glute].yes + v[glute].no == 0 && v[lumbar].yes + v[lumbar].no == 0) {
    return "amplitude verdicts not available (needs MVC)";
  }
  if (v[glute].no > v[glute].yes)
    return majority(lumbar) ? "glutes did not fire, back did the work" : "glutes did not fire";
  if (majority(lumbar)) return "back did the work";
  if (majority(hamstring)) return "hamstrings did the work";
  if (majority(tfl)) return "TFL did the work";
  if (majority(late)) return "glutes fired late, after the back";
  return "glutes fired, back quiet";
}

std::string format_rep_line(std::size_t set_index, const exercise::SetAnalysis& set,
                            const exercise::RepScore& rep) {
  std::string line =
      fmt::format("set {} rep {:>2} ({}): {}", set_index + 1, rep.index + 1,
                  set.exercise_name.empty() ? to_string(set.exercise) : set.exercise_name, rep.summary);
  if (set.motion_source == exercise::MotionSource::emg) line += " [segmented from EMG without motion]";
  // The lumbar_dominant verdict compares ES/glute; clinicians read the glute share (glute:ES, as the web page
  // and the HTML report show it), so the line gives its inverse.
  const exercise::Verdict& lumbar = rep.verdicts.lumbar_dominant;
  if (std::isfinite(lumbar.value) && lumbar.value > 0)
    line += fmt::format(" - glute:ES {:.2f} ({})", 1.0 / lumbar.value, amplitude_unit(set.normalisation));
  return line;
}

}  // namespace glutescope::pipeline
