#include "pipeline/analysis.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/core.h>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"
#include "dsp/zero_phase.hpp"
#include "exercise/rep_segmenter.hpp"
#include "motion/angles.hpp"
#include "motion/orientation_filter.hpp"
#include "pipeline/analysis_stages.hpp"
#include "store/session_reader.hpp"

namespace glutescope::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Running content hash of byte spans: CRC-32 and Adler-32 (zlib) plus the byte count. An identity of the raw
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
      adler_ = adler32(adler_, bytes, n);
      bytes += n;
      left -= n;
    }
  }
  [[nodiscard]] std::string text() const {
    return fmt::format("crc32:{:08x}-adler32:{:08x}-bytes:{}", crc_, adler_, bytes_);
  }

 private:
  uLong crc_ = crc32(0L, Z_NULL, 0);
  uLong adler_ = adler32(0L, Z_NULL, 0);
  std::uint64_t bytes_ = 0;
};

// Exercise sets from the events: set_start/set_stop pairs (MVC trials separately).
struct SetWindow {
  Exercise exercise = Exercise::bridge;
  Muscle muscle = Muscle::other;
  Side side = Side::unknown;
  double start_s = 0.0, end_s = 0.0;
};

std::vector<SetWindow> set_windows(const std::vector<Event>& events, double session_end_s) {
  std::vector<SetWindow> sets;
  std::optional<SetWindow> open;
  for (const Event& e : events) {
    if (e.kind == EventKind::set_start) {
      if (open) {
        open->end_s = e.time_s;
        sets.push_back(*open);
      }
      open = SetWindow{e.exercise, e.muscle, e.side, e.time_s, session_end_s};
    } else if (e.kind == EventKind::set_stop && open) {
      open->end_s = e.time_s;
      sets.push_back(*open);
      open.reset();
    }
  }
  if (open) sets.push_back(*open);
  return sets;
}

double mean_or_nan(double sum, int n) { return n > 0 ? sum / n : kNaN; }

}  // namespace

std::string_view to_string(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::glutes_led: return "glutes_led";
    case Verdict::shared: return "shared";
    case Verdict::back_dominant: return "back_dominant";
    case Verdict::hamstrings_dominant: return "hamstrings_dominant";
    case Verdict::glutes_silent: return "glutes_silent";
    case Verdict::no_emg: return "no_emg";
  }
  return "?";
}

std::string_view describe(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::glutes_led: return "glutes fired, back quiet";
    case Verdict::shared: return "glutes and back shared the work";
    case Verdict::back_dominant: return "back did the work";
    case Verdict::hamstrings_dominant: return "hamstrings took over";
    case Verdict::glutes_silent: return "glutes silent";
    case Verdict::no_emg: return "no glute/lumbar channels to compare";
  }
  return "?";
}

SessionData load_session(const std::filesystem::path& path) {
  store::SessionReader reader(path);
  SessionData s;
  s.source = path.string();
  s.subject_id = reader.info().subject_id;
  s.session_start_time = reader.info().session_start_time;
  const DeviceInfo device = reader.device();
  s.montage = reader.montage();
  s.emg_rate_hz = device.emg_rate_hz;
  s.emg_channels = reader.emg_channels();
  ContentHash hash;
  const std::vector<std::int32_t> counts = reader.emg_counts();
  const std::vector<std::uint64_t> index = reader.emg_sample_index();
  hash.add(counts);
  const std::size_t ch = s.emg_channels;
  const std::size_t rows = ch == 0 ? 0 : counts.size() / ch;
  const std::uint64_t span = rows == 0 ? 0 : index.back() + 1;
  s.emg_uv.assign(span * ch, 0.0);
  std::vector<double> scale(ch, 1.0);
  for (std::size_t c = 0; c < ch && c < s.montage.emg.size(); ++c) scale[c] = s.montage.emg[c].microvolts_per_count;
  for (std::size_t r = 0; r < rows; ++r) {
    double* out = &s.emg_uv[index[r] * ch];
    const std::int32_t* in = &counts[r * ch];
    for (std::size_t c = 0; c < ch; ++c) out[c] = in[c] * scale[c];
  }
  s.emg_gap_samples = span - rows;
  for (std::size_t i = 0; i < reader.imu_count(); ++i) {
    SessionData::Imu imu;
    imu.segment = i < s.montage.imu.size() ? s.montage.imu[i].segment : Segment::other;
    if (i < device.imu.size()) s.imu_rate_hz = device.imu[i].rate_hz;
    const store::ImuRows<std::int16_t> raw = reader.imu_counts(i);
    hash.add(raw.accel);
    hash.add(raw.gyro);
    const std::vector<std::uint64_t> imu_index = reader.imu_sample_index(i);
    const double ga = i < device.imu.size() ? device.imu[i].accel_g_per_count : 1.0;
    const double gg = i < device.imu.size() ? device.imu[i].gyro_dps_per_count : 1.0;
    const std::size_t n = imu_index.size();
    const std::uint64_t imu_span = n == 0 ? 0 : imu_index.back() + 1;
    imu.accel_g.assign(imu_span * 3, 0.0);
    imu.gyro_dps.assign(imu_span * 3, 0.0);
    std::uint64_t next = 0;
    for (std::size_t r = 0; r < n; ++r) {
      // A lost IMU sample repeats the previous one (the orientation filter then integrates a still sensor).
      for (; next < imu_index[r]; ++next) {
        for (int a = 0; a < 3; ++a) {
          imu.accel_g[next * 3 + a] = next == 0 ? raw.accel[a] * ga : imu.accel_g[(next - 1) * 3 + a];
          imu.gyro_dps[next * 3 + a] = next == 0 ? raw.gyro[a] * gg : imu.gyro_dps[(next - 1) * 3 + a];
        }
      }
      for (int a = 0; a < 3; ++a) {
        imu.accel_g[next * 3 + a] = raw.accel[r * 3 + a] * ga;
        imu.gyro_dps[next * 3 + a] = raw.gyro[r * 3 + a] * gg;
      }
      ++next;
    }
    s.imu.push_back(std::move(imu));
  }
  s.events = reader.events();
  s.input_hash = hash.text();
  return s;
}

Verdict verdict_for(Exercise exercise, double glute, double lumbar, double hamstring, bool mvc_normalised,
                    const ScoringSettings& scoring) noexcept {
  if (!std::isfinite(glute) || !std::isfinite(lumbar) || lumbar <= 0.0) return Verdict::no_emg;
  if (mvc_normalised && glute < scoring.min_glute_pct_mvc) return Verdict::glutes_silent;
  if (exercise == Exercise::bridge && std::isfinite(hamstring) && glute > 0.0 &&
      hamstring / glute >= scoring.hamstring_over_glute) {
    return Verdict::hamstrings_dominant;
  }
  const double ratio = glute / lumbar;
  if (ratio >= scoring.ratio_glutes_led) return Verdict::glutes_led;
  if (ratio < scoring.ratio_back_dominant) return Verdict::back_dominant;
  return Verdict::shared;
}

void score_rep(RepResult& rep, const std::vector<Muscle>& muscles, const std::vector<Side>& sides, Side upper_side,
               bool mvc_normalised, const ScoringSettings& scoring) noexcept {
  // Groups: bridge glute = gluteus maximus (both sides); clamshell glute = gluteus medius of the upper (moving)
  // side, falling back to both sides. Lumbar = erector spinae (both sides). Means of the available channels.
  double sum[4] = {0, 0, 0, 0};
  int n[4] = {0, 0, 0, 0};
  const Muscle glute_muscle = rep.exercise == Exercise::clamshell ? Muscle::gluteus_medius : Muscle::gluteus_maximus;
  const bool upper_only = rep.exercise == Exercise::clamshell && (upper_side == Side::left || upper_side == Side::right);
  bool upper_present = false;
  for (std::size_t c = 0; c < muscles.size(); ++c) {
    if (muscles[c] == glute_muscle && sides[c] == upper_side) upper_present = true;
  }
  for (std::size_t c = 0; c < muscles.size() && c < rep.channel_amplitude.size(); ++c) {
    const double a = rep.channel_amplitude[c];
    if (!std::isfinite(a)) continue;
    int g = -1;
    if (muscles[c] == glute_muscle && (!upper_only || !upper_present || sides[c] == upper_side)) g = 0;
    if (muscles[c] == Muscle::erector_spinae_lumbar) g = 1;
    if (muscles[c] == Muscle::biceps_femoris) g = 2;
    if (muscles[c] == Muscle::tensor_fasciae_latae && (!upper_only || sides[c] == upper_side)) g = 3;
    if (g >= 0) {
      sum[g] += a;
      ++n[g];
    }
  }
  rep.glute = mean_or_nan(sum[0], n[0]);
  rep.lumbar = mean_or_nan(sum[1], n[1]);
  rep.hamstring = mean_or_nan(sum[2], n[2]);
  rep.tfl = mean_or_nan(sum[3], n[3]);
  rep.glute_lumbar_ratio = (n[0] > 0 && n[1] > 0 && rep.lumbar > 0.0) ? rep.glute / rep.lumbar : kNaN;
  rep.verdict = verdict_for(rep.exercise, rep.glute, rep.lumbar, rep.hamstring, mvc_normalised, scoring);
  rep.pelvis_rolled = rep.exercise == Exercise::clamshell && std::isfinite(rep.pelvic_roll_deviation_deg) &&
                      rep.pelvic_roll_deviation_deg > scoring.max_pelvic_roll_deg;
}

std::string format_rep_line(const RepResult& rep, const std::string& amplitude_unit) {
  std::string line = fmt::format("set {} rep {:>2} ({}{}): {}", rep.set_index + 1, rep.rep_index + 1,
                                 to_string(rep.exercise), rep.partial ? ", partial" : "", describe(rep.verdict));
  if (std::isfinite(rep.glute_lumbar_ratio)) {
    line += fmt::format(" - glute/lumbar {:.2f} ({} {:.1f} vs {:.1f})", rep.glute_lumbar_ratio, amplitude_unit,
                        rep.glute, rep.lumbar);
  }
  if (rep.pelvis_rolled) line += fmt::format("; pelvis rolled back {:.0f} deg", rep.pelvic_roll_deviation_deg);
  return line;
}

AnalysisResult analyse(const SessionData& session, const AnalysisPipelineSettings& settings) {
  validate(settings);
  AnalysisResult result;
  result.software_version = std::string("glutescope ") + GLUTESCOPE_VERSION;
  result.settings_toml = to_toml(settings);
  result.source = session.source;
  result.input_hash = session.input_hash;
  result.subject_id = session.subject_id;
  result.session_start_time = session.session_start_time;
  result.mode = settings.emg.zero_phase ? "offline-zero-phase" : "offline-causal";
  result.emg_gap_samples = session.emg_gap_samples;
  const std::size_t ch = session.emg_channels;
  for (std::size_t c = 0; c < ch; ++c) {
    const EmgChannel* m = c < session.montage.emg.size() ? &session.montage.emg[c] : nullptr;
    result.channel_labels.push_back(m ? m->label : fmt::format("ch{}", c));
    result.channel_muscles.push_back(m ? m->muscle : Muscle::other);
    result.channel_sides.push_back(m ? m->side : Side::unknown);
  }

  // ---- EMG: band-pass (+ notch) → rectify → envelope.
  const double emg_rate = session.emg_rate_hz;
  const std::size_t rows = session.emg_samples();
  std::vector<double> envelope;
  if (ch > 0 && rows > 0) {
    const EmgChain chain = design_emg_chain(settings.emg, emg_rate);
    const bool zero_phase = settings.emg.zero_phase && rows > dsp::sosfiltfilt_padlen(chain.bandpass) &&
                            rows > dsp::sosfiltfilt_padlen(chain.envelope_lowpass);
    if (zero_phase) {
      envelope = dsp::sosfiltfilt_interleaved(chain.bandpass, session.emg_uv, ch);
      if (settings.emg.envelope == EnvelopeKind::linear) {
        for (double& v : envelope) v = std::fabs(v);
        envelope = dsp::sosfiltfilt_interleaved(chain.envelope_lowpass, envelope, ch);
      } else {
        std::vector<double> column(rows);
        for (std::size_t c = 0; c < ch; ++c) {
          for (std::size_t r = 0; r < rows; ++r) column[r] = envelope[r * ch + c];
          const std::vector<double> rms =
              dsp::moving_rms_centered(column, dsp::MovingRmsSettings{settings.emg.rms_window_ms}, emg_rate);
          for (std::size_t r = 0; r < rows; ++r) envelope[r * ch + c] = rms[r];
        }
      }
    } else {
      result.mode = "offline-causal";
      CausalEmgConditioner conditioner(settings.emg, emg_rate, ch);
      envelope.resize(rows * ch);
      conditioner.process(session.emg_uv, envelope);
    }
  }

  // ---- Decimated envelopes for plots (block means).
  result.envelope_rate_hz = settings.output.envelope_rate_hz;
  const std::size_t block = emg_rate > 0 ? std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(
                                                                        emg_rate / settings.output.envelope_rate_hz)))
                                         : 1;
  if (emg_rate > 0) result.envelope_rate_hz = emg_rate / static_cast<double>(block);
  const std::size_t plot_rows = rows / block;
  result.envelopes_uv.resize(plot_rows * ch);
  for (std::size_t p = 0; p < plot_rows; ++p) {
    for (std::size_t c = 0; c < ch; ++c) {
      double sum = 0.0;
      for (std::size_t r = p * block; r < (p + 1) * block; ++r) sum += envelope[r * ch + c];
      result.envelopes_uv[p * ch + c] = static_cast<float>(sum / static_cast<double>(block));
    }
  }
  result.driving_angle_deg.assign(plot_rows, std::numeric_limits<float>::quiet_NaN());

  // Mean envelope of channel c over EMG samples [a, b).
  auto window_mean = [&](std::size_t c, double a_s, double b_s) {
    const auto a = static_cast<std::size_t>(std::clamp(std::floor(a_s * emg_rate), 0.0, static_cast<double>(rows)));
    const auto b = static_cast<std::size_t>(std::clamp(std::ceil(b_s * emg_rate), 0.0, static_cast<double>(rows)));
    if (b <= a) return kNaN;
    double sum = 0.0;
    for (std::size_t r = a; r < b; ++r) sum += envelope[r * ch + c];
    return sum / static_cast<double>(b - a);
  };

  const double session_end_s = emg_rate > 0 ? static_cast<double>(rows) / emg_rate : 0.0;
  std::vector<SetWindow> windows = set_windows(session.events, session_end_s);

  // ---- MVC normalisation: largest mean envelope over mvc_window_ms within each MVC trial of the muscle.
  result.mvc_uv.assign(ch, kNaN);
  for (const SetWindow& w : windows) {
    if (w.exercise != Exercise::mvc) continue;
    const auto a = static_cast<std::size_t>(std::clamp(w.start_s * emg_rate, 0.0, static_cast<double>(rows)));
    const auto b = static_cast<std::size_t>(std::clamp(w.end_s * emg_rate, 0.0, static_cast<double>(rows)));
    const auto win = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(settings.scoring.mvc_window_ms * emg_rate / 1000.0)));
    if (b <= a + win) continue;
    for (std::size_t c = 0; c < ch; ++c) {
      if (result.channel_muscles[c] != w.muscle) continue;
      if (w.side != Side::midline && w.side != Side::unknown && w.side != result.channel_sides[c]) continue;
      double sum = 0.0;
      for (std::size_t r = a; r < a + win; ++r) sum += envelope[r * ch + c];
      double best = sum;
      for (std::size_t r = a + win; r < b; ++r) {
        sum += envelope[r * ch + c] - envelope[(r - win) * ch + c];
        best = std::max(best, sum);
      }
      const double amplitude = best / static_cast<double>(win);
      result.mvc_uv[c] = std::isfinite(result.mvc_uv[c]) ? std::max(result.mvc_uv[c], amplitude) : amplitude;
    }
  }
  bool all_scored_have_mvc = true;
  bool any_scored = false;
  for (std::size_t c = 0; c < ch; ++c) {
    const Muscle m = result.channel_muscles[c];
    if (m == Muscle::other) continue;
    any_scored = true;
    if (!(result.mvc_uv[c] > 0.0)) all_scored_have_mvc = false;
  }
  bool use_mvc = false;
  switch (settings.scoring.normalisation) {
    case NormalisationChoice::automatic: use_mvc = any_scored && all_scored_have_mvc; break;
    case NormalisationChoice::mvc:
      if (!(any_scored && all_scored_have_mvc)) {
        throw std::invalid_argument(fmt::format(
            "{}: scoring.normalisation = \"mvc\" but not every muscle has an MVC trial (set markers with exercise "
            "mvc); use \"auto\" or \"none\"", session.source));
      }
      use_mvc = true;
      break;
    case NormalisationChoice::none: use_mvc = false; break;
  }
  result.normalisation = use_mvc ? "mvc" : "none";
  result.amplitude_unit = use_mvc ? "%MVC" : "uV";

  // ---- Motion: orientation per IMU over the whole session (start-up in the initial still period).
  const double imu_rate = session.imu_rate_hz;
  std::array<const std::vector<double>*, motion::kBodySegmentCount> gravity_of{nullptr, nullptr, nullptr};
  std::vector<std::vector<double>> gravity(session.imu.size());
  std::size_t imu_rows = std::numeric_limits<std::size_t>::max();
  for (std::size_t i = 0; i < session.imu.size(); ++i) {
    const SessionData::Imu& imu = session.imu[i];
    int seg = -1;
    if (imu.segment == Segment::sacrum) seg = static_cast<int>(motion::BodySegment::pelvis);
    if (imu.segment == Segment::thigh_left) seg = static_cast<int>(motion::BodySegment::thigh_left);
    if (imu.segment == Segment::thigh_right) seg = static_cast<int>(motion::BodySegment::thigh_right);
    if (seg < 0 || imu_rate <= 0) continue;
    gravity[i] = gravity_track(imu.accel_g, imu.gyro_dps, imu_rate, settings.motion);
    gravity_of[static_cast<std::size_t>(seg)] = &gravity[i];
    imu_rows = std::min(imu_rows, gravity[i].size() / 3);
  }
  if (imu_rows == std::numeric_limits<std::size_t>::max()) imu_rows = 0;

  // ---- Sets: the exercise sets, or the whole session as one set of the default exercise.
  std::vector<SetWindow> exercise_sets;
  for (const SetWindow& w : windows) {
    if (w.exercise == Exercise::bridge || w.exercise == Exercise::clamshell) exercise_sets.push_back(w);
  }
  if (exercise_sets.empty() && windows.empty()) {
    exercise_sets.push_back(SetWindow{settings.motion.default_exercise, Muscle::other, Side::unknown, 0.0,
                                      imu_rate > 0 ? static_cast<double>(imu_rows) / imu_rate : session_end_s});
  }

  for (std::size_t si = 0; si < exercise_sets.size(); ++si) {
    const SetWindow& w = exercise_sets[si];
    SetResult set;
    set.set_index = si;
    set.exercise = w.exercise;
    set.upper_side = w.exercise == Exercise::clamshell
                         ? ((w.side == Side::left || w.side == Side::right) ? w.side : settings.motion.clamshell_upper_side)
                         : Side::unknown;
    set.start_s = w.start_s;
    set.end_s = w.end_s;
    set.verdict_counts.assign(static_cast<std::size_t>(Verdict::no_emg) + 1, 0);
    const std::size_t first_rep = result.reps.size();

    const auto a = static_cast<std::size_t>(std::clamp(std::ceil(w.start_s * imu_rate), 0.0, static_cast<double>(imu_rows)));
    const auto b = static_cast<std::size_t>(std::clamp(std::floor(w.end_s * imu_rate), 0.0, static_cast<double>(imu_rows)));
    SetAngles angles = set_angles(gravity_of, a, b, imu_rate, w.exercise, set.upper_side, settings.motion);
    std::vector<exercise::Repetition> reps;
    if (angles.valid) {
      for (std::size_t k = 0; k < angles.driving_deg.size(); ++k) {
        const double t = angles.t_s[k];
        const auto p = static_cast<std::size_t>(t * result.envelope_rate_hz);
        if (p < result.driving_angle_deg.size()) result.driving_angle_deg[p] = static_cast<float>(angles.driving_deg[k]);
      }
      reps = segment_reps(angles, imu_rate, settings.motion, settings.emg.zero_phase);
    }
    for (const exercise::Repetition& r : reps) {
      RepResult rep;
      rep.set_index = si;
      rep.rep_index = r.index;
      rep.exercise = w.exercise;
      rep.start_s = r.start_s;
      rep.concentric_end_s = r.concentric_end_s;
      rep.hold_end_s = r.hold_end_s;
      rep.end_s = r.end_s;
      rep.peak_s = r.peak_s;
      rep.rom_deg = r.rom_deg;
      rep.partial = r.partial;
      rep.pelvic_tilt_deviation_deg = r.max_pelvic_tilt_deviation_deg;
      rep.pelvic_roll_deviation_deg = r.max_pelvic_roll_deviation_deg;
      rep.channel_amplitude.resize(ch);
      for (std::size_t c = 0; c < ch; ++c) {
        double amp = window_mean(c, r.start_s, r.end_s);
        if (use_mvc) amp = 100.0 * amp / result.mvc_uv[c];
        rep.channel_amplitude[c] = amp;
      }
      score_rep(rep, result.channel_muscles, result.channel_sides, set.upper_side, use_mvc, settings.scoring);
      result.reps.push_back(std::move(rep));
    }
    // Set summary: verdict counts, mean of ratios, and the verdict of the mean amplitudes (ratio of means).
    double ratio_sum = 0.0, glute_sum = 0.0, lumbar_sum = 0.0, ham_sum = 0.0;
    int ratio_n = 0, glute_n = 0, lumbar_n = 0, ham_n = 0;
    for (std::size_t k = first_rep; k < result.reps.size(); ++k) {
      const RepResult& rep = result.reps[k];
      ++set.reps;
      if (rep.partial) ++set.partial_reps;
      ++set.verdict_counts[static_cast<std::size_t>(rep.verdict)];
      if (std::isfinite(rep.glute_lumbar_ratio)) ratio_sum += rep.glute_lumbar_ratio, ++ratio_n;
      if (std::isfinite(rep.glute)) glute_sum += rep.glute, ++glute_n;
      if (std::isfinite(rep.lumbar)) lumbar_sum += rep.lumbar, ++lumbar_n;
      if (std::isfinite(rep.hamstring)) ham_sum += rep.hamstring, ++ham_n;
    }
    set.mean_glute_lumbar_ratio = mean_or_nan(ratio_sum, ratio_n);
    const double mg = mean_or_nan(glute_sum, glute_n), ml = mean_or_nan(lumbar_sum, lumbar_n);
    set.ratio_of_means = (glute_n > 0 && lumbar_n > 0 && ml > 0) ? mg / ml : kNaN;
    set.verdict = set.reps == 0 ? Verdict::no_emg
                                : verdict_for(w.exercise, mg, ml, mean_or_nan(ham_sum, ham_n), use_mvc, settings.scoring);
    result.sets.push_back(std::move(set));
  }
  return result;
}

}  // namespace glutescope::pipeline
