#include "pipeline/analysis_file.hpp"

#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <functional>
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
  return GroupHandle(checked(H5Gcreate2(file, name, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "create group", where));
}

template <typename T>
void write_matrix(hid_t group, const std::string& name, const std::vector<T>& values, std::size_t rows,
                  std::size_t cols, const Hdf5Where& where) {
  const hsize_t dims[2] = {rows, cols};
  DataspaceHandle space(checked(H5Screate_simple(2, dims, nullptr), "create dataspace for", where));
  PropListHandle dcpl = untimed(H5P_DATASET_CREATE);
  DatasetHandle ds(checked(H5Dcreate2(group, name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, dcpl.get(),
                                      H5P_DEFAULT),
                           "create dataset", where));
  if (!values.empty()) {
    check_status(H5Dwrite(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "write", where);
  }
}
template <typename T>
void write_vector(hid_t group, const std::string& name, const std::vector<T>& values, const Hdf5Where& where) {
  write_matrix(group, name, values, values.size(), 1, where);
}
void write_strings(hid_t group, const std::string& name, const std::vector<std::string>& values,
                   const Hdf5Where& where) {
  DatatypeHandle type = vlen_utf8_type(where);
  const hsize_t dims[1] = {values.size()};
  DataspaceHandle space(checked(H5Screate_simple(1, dims, nullptr), "create dataspace for", where));
  PropListHandle dcpl = untimed(H5P_DATASET_CREATE);
  DatasetHandle ds(checked(H5Dcreate2(group, name.c_str(), type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                           "create dataset", where));
  std::vector<const char*> data;
  for (const auto& v : values) data.push_back(v.c_str());
  if (!data.empty()) check_status(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "write", where);
}

template <typename T>
std::vector<T> read_any(hid_t group, const std::string& name, const Hdf5Where& where) {
  if (!has_link(group, name)) throw Hdf5Error(fmt::format("missing dataset {} in {}", name, where.file));
  DatasetHandle ds(checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "open dataset", where));
  DataspaceHandle space(checked(H5Dget_space(ds.get()), "get dataspace", where));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<T> values(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
  if (!values.empty()) {
    check_status(H5Dread(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "read", where);
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

}  // namespace

std::filesystem::path analysis_path_for(const std::filesystem::path& session_path) {
  std::filesystem::path p = session_path;
  if (p.extension() == ".h5") p.replace_extension();
  p += std::string(kAnalysisSuffix);
  return p;
}

void write_analysis_file(const AnalysisResult& r, const std::filesystem::path& out) {
  silence_hdf5_errors();
  const std::filesystem::path tmp =
      fmt::format("{}.tmp-{}-{}", out.string(), ::getpid(), std::hash<std::thread::id>{}(std::this_thread::get_id()));
  const Hdf5Where w{tmp.string(), "/"};
  try {
    {
      PropListHandle fcpl = untimed(H5P_FILE_CREATE);
      FileHandle file(checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), "create file", w));
      const hid_t root = file.get();
      write_string_attribute(root, "format", std::string(kAnalysisFormatName), w);
      write_string_attribute(root, "format_version", std::string(kAnalysisFormatVersion), w);
      write_string_attribute(root, "software_version", r.software_version, w);
      write_string_attribute(root, "settings_toml", r.settings_toml, w);
      write_string_attribute(root, "source_file", r.source, w);
      write_string_attribute(root, "input_hash", r.input_hash, w);
      write_string_attribute(root, "subject_id", r.subject_id, w);
      write_string_attribute(root, "session_start_time", r.session_start_time, w);
      write_string_attribute(root, "mode", r.mode, w);
      write_string_attribute(root, "normalisation", r.normalisation, w);
      write_string_attribute(root, "amplitude_unit", r.amplitude_unit, w);
      write_scalar_attribute<std::uint64_t>(root, "emg_gap_samples", r.emg_gap_samples, w);

      GroupHandle ch = make_group(root, "channels", w);
      write_strings(ch.get(), "label", r.channel_labels, w);
      std::vector<std::uint8_t> muscles, sides;
      for (Muscle m : r.channel_muscles) muscles.push_back(static_cast<std::uint8_t>(m));
      for (Side s : r.channel_sides) sides.push_back(static_cast<std::uint8_t>(s));
      write_vector(ch.get(), "muscle", muscles, w);
      write_vector(ch.get(), "side", sides, w);
      write_vector(ch.get(), "mvc_uv", r.mvc_uv, w);

      GroupHandle reps = make_group(root, "reps", w);
      using R = RepResult;
      write_vector(reps.get(), "set_index", column<R, std::uint32_t>(r.reps, [](const R& x) { return static_cast<std::uint32_t>(x.set_index); }), w);
      write_vector(reps.get(), "rep_index", column<R, std::uint32_t>(r.reps, [](const R& x) { return static_cast<std::uint32_t>(x.rep_index); }), w);
      write_vector(reps.get(), "exercise", column<R, std::uint8_t>(r.reps, [](const R& x) { return static_cast<std::uint8_t>(x.exercise); }), w);
      const std::pair<const char*, double R::*> doubles[] = {
          {"start_s", &R::start_s}, {"concentric_end_s", &R::concentric_end_s}, {"hold_end_s", &R::hold_end_s},
          {"end_s", &R::end_s}, {"peak_s", &R::peak_s}, {"rom_deg", &R::rom_deg},
          {"pelvic_tilt_deviation_deg", &R::pelvic_tilt_deviation_deg},
          {"pelvic_roll_deviation_deg", &R::pelvic_roll_deviation_deg}, {"glute", &R::glute}, {"lumbar", &R::lumbar},
          {"hamstring", &R::hamstring}, {"tfl", &R::tfl}, {"glute_lumbar_ratio", &R::glute_lumbar_ratio}};
      for (const auto& [name, member] : doubles) {
        write_vector(reps.get(), name, column<R, double>(r.reps, [m = member](const R& x) { return x.*m; }), w);
      }
      write_vector(reps.get(), "partial", column<R, std::uint8_t>(r.reps, [](const R& x) { return static_cast<std::uint8_t>(x.partial); }), w);
      write_vector(reps.get(), "pelvis_rolled", column<R, std::uint8_t>(r.reps, [](const R& x) { return static_cast<std::uint8_t>(x.pelvis_rolled); }), w);
      write_vector(reps.get(), "verdict", column<R, std::uint8_t>(r.reps, [](const R& x) { return static_cast<std::uint8_t>(x.verdict); }), w);
      write_strings(reps.get(), "verdict_text", column<R, std::string>(r.reps, [](const R& x) { return std::string(describe(x.verdict)); }), w);
      std::vector<double> amp;
      for (const R& x : r.reps) amp.insert(amp.end(), x.channel_amplitude.begin(), x.channel_amplitude.end());
      write_matrix(reps.get(), "channel_amplitude", amp, r.reps.size(), r.channel_labels.size(), w);

      GroupHandle sets = make_group(root, "sets", w);
      using T = SetResult;
      write_vector(sets.get(), "set_index", column<T, std::uint32_t>(r.sets, [](const T& x) { return static_cast<std::uint32_t>(x.set_index); }), w);
      write_vector(sets.get(), "exercise", column<T, std::uint8_t>(r.sets, [](const T& x) { return static_cast<std::uint8_t>(x.exercise); }), w);
      write_vector(sets.get(), "upper_side", column<T, std::uint8_t>(r.sets, [](const T& x) { return static_cast<std::uint8_t>(x.upper_side); }), w);
      write_vector(sets.get(), "start_s", column<T, double>(r.sets, [](const T& x) { return x.start_s; }), w);
      write_vector(sets.get(), "end_s", column<T, double>(r.sets, [](const T& x) { return x.end_s; }), w);
      write_vector(sets.get(), "reps", column<T, std::uint32_t>(r.sets, [](const T& x) { return static_cast<std::uint32_t>(x.reps); }), w);
      write_vector(sets.get(), "partial_reps", column<T, std::uint32_t>(r.sets, [](const T& x) { return static_cast<std::uint32_t>(x.partial_reps); }), w);
      write_vector(sets.get(), "mean_glute_lumbar_ratio", column<T, double>(r.sets, [](const T& x) { return x.mean_glute_lumbar_ratio; }), w);
      write_vector(sets.get(), "ratio_of_means", column<T, double>(r.sets, [](const T& x) { return x.ratio_of_means; }), w);
      write_vector(sets.get(), "verdict", column<T, std::uint8_t>(r.sets, [](const T& x) { return static_cast<std::uint8_t>(x.verdict); }), w);
      std::vector<std::uint32_t> counts;
      const std::size_t nv = static_cast<std::size_t>(Verdict::no_emg) + 1;
      for (const T& x : r.sets) {
        for (std::size_t v = 0; v < nv; ++v) counts.push_back(static_cast<std::uint32_t>(v < x.verdict_counts.size() ? x.verdict_counts[v] : 0));
      }
      write_matrix(sets.get(), "verdict_counts", counts, r.sets.size(), nv, w);

      GroupHandle env = make_group(root, "envelopes", w);
      write_scalar_attribute<double>(env.get(), "rate_hz", r.envelope_rate_hz, w);
      write_string_attribute(env.get(), "unit", "uV", w);
      const std::size_t nch = r.channel_labels.size();
      write_matrix(env.get(), "emg_envelope", r.envelopes_uv, nch == 0 ? 0 : r.envelopes_uv.size() / nch, nch, w);
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
    throw std::runtime_error(fmt::format("{}: no analysis file (run glutescope analyze first)", path.string()));
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
  if (version.substr(0, version.find('.')) != "1") {
    throw std::runtime_error(fmt::format("{}: analysis format version {} is newer than this glutescope reads (1.x)",
                                         path.string(), version));
  }
  AnalysisResult r;
  r.software_version = read_string_attribute(root, "software_version", w);
  r.settings_toml = read_string_attribute(root, "settings_toml", w);
  r.source = read_string_attribute(root, "source_file", w);
  r.input_hash = read_string_attribute(root, "input_hash", w);
  r.subject_id = read_string_attribute(root, "subject_id", w);
  r.session_start_time = read_string_attribute(root, "session_start_time", w);
  r.mode = read_string_attribute(root, "mode", w);
  r.normalisation = read_string_attribute(root, "normalisation", w);
  r.amplitude_unit = read_string_attribute(root, "amplitude_unit", w);
  r.emg_gap_samples = read_scalar_attribute<std::uint64_t>(root, "emg_gap_samples", w);
  GroupHandle ch(checked(H5Gopen2(root, "channels", H5P_DEFAULT), "open group", w));
  r.channel_labels = read_string_column(ch.get(), "label", w);
  for (auto m : read_any<std::uint8_t>(ch.get(), "muscle", w)) r.channel_muscles.push_back(static_cast<Muscle>(m));
  for (auto s : read_any<std::uint8_t>(ch.get(), "side", w)) r.channel_sides.push_back(static_cast<Side>(s));
  r.mvc_uv = read_any<double>(ch.get(), "mvc_uv", w);
  const std::size_t nch = r.channel_labels.size();

  GroupHandle reps(checked(H5Gopen2(root, "reps", H5P_DEFAULT), "open group", w));
  const auto set_index = read_any<std::uint32_t>(reps.get(), "set_index", w);
  const auto rep_index = read_any<std::uint32_t>(reps.get(), "rep_index", w);
  const auto exercise = read_any<std::uint8_t>(reps.get(), "exercise", w);
  const auto partial = read_any<std::uint8_t>(reps.get(), "partial", w);
  const auto rolled = read_any<std::uint8_t>(reps.get(), "pelvis_rolled", w);
  const auto verdict = read_any<std::uint8_t>(reps.get(), "verdict", w);
  const auto amp = read_any<double>(reps.get(), "channel_amplitude", w);
  r.reps.resize(set_index.size());
  using R = RepResult;
  const std::pair<const char*, double R::*> doubles[] = {
      {"start_s", &R::start_s}, {"concentric_end_s", &R::concentric_end_s}, {"hold_end_s", &R::hold_end_s},
      {"end_s", &R::end_s}, {"peak_s", &R::peak_s}, {"rom_deg", &R::rom_deg},
      {"pelvic_tilt_deviation_deg", &R::pelvic_tilt_deviation_deg},
      {"pelvic_roll_deviation_deg", &R::pelvic_roll_deviation_deg}, {"glute", &R::glute}, {"lumbar", &R::lumbar},
      {"hamstring", &R::hamstring}, {"tfl", &R::tfl}, {"glute_lumbar_ratio", &R::glute_lumbar_ratio}};
  for (const auto& [name, member] : doubles) {
    const auto values = read_any<double>(reps.get(), name, w);
    for (std::size_t i = 0; i < r.reps.size() && i < values.size(); ++i) r.reps[i].*member = values[i];
  }
  for (std::size_t i = 0; i < r.reps.size(); ++i) {
    R& x = r.reps[i];
    x.set_index = set_index[i];
    x.rep_index = rep_index.at(i);
    x.exercise = static_cast<Exercise>(exercise.at(i));
    x.partial = partial.at(i) != 0;
    x.pelvis_rolled = rolled.at(i) != 0;
    x.verdict = static_cast<Verdict>(verdict.at(i));
    x.channel_amplitude.assign(amp.begin() + static_cast<std::ptrdiff_t>(i * nch),
                               amp.begin() + static_cast<std::ptrdiff_t>((i + 1) * nch));
  }
  GroupHandle sets(checked(H5Gopen2(root, "sets", H5P_DEFAULT), "open group", w));
  const auto s_index = read_any<std::uint32_t>(sets.get(), "set_index", w);
  const auto s_ex = read_any<std::uint8_t>(sets.get(), "exercise", w);
  const auto s_side = read_any<std::uint8_t>(sets.get(), "upper_side", w);
  const auto s_start = read_any<double>(sets.get(), "start_s", w);
  const auto s_end = read_any<double>(sets.get(), "end_s", w);
  const auto s_reps = read_any<std::uint32_t>(sets.get(), "reps", w);
  const auto s_partial = read_any<std::uint32_t>(sets.get(), "partial_reps", w);
  const auto s_mean = read_any<double>(sets.get(), "mean_glute_lumbar_ratio", w);
  const auto s_rom = read_any<double>(sets.get(), "ratio_of_means", w);
  const auto s_verdict = read_any<std::uint8_t>(sets.get(), "verdict", w);
  const auto s_counts = read_any<std::uint32_t>(sets.get(), "verdict_counts", w);
  const std::size_t nv = static_cast<std::size_t>(Verdict::no_emg) + 1;
  for (std::size_t i = 0; i < s_index.size(); ++i) {
    SetResult s;
    s.set_index = s_index[i];
    s.exercise = static_cast<Exercise>(s_ex.at(i));
    s.upper_side = static_cast<Side>(s_side.at(i));
    s.start_s = s_start.at(i);
    s.end_s = s_end.at(i);
    s.reps = s_reps.at(i);
    s.partial_reps = s_partial.at(i);
    s.mean_glute_lumbar_ratio = s_mean.at(i);
    s.ratio_of_means = s_rom.at(i);
    s.verdict = static_cast<Verdict>(s_verdict.at(i));
    for (std::size_t v = 0; v < nv; ++v) s.verdict_counts.push_back(s_counts.at(i * nv + v));
    r.sets.push_back(std::move(s));
  }
  GroupHandle env(checked(H5Gopen2(root, "envelopes", H5P_DEFAULT), "open group", w));
  r.envelope_rate_hz = read_scalar_attribute<double>(env.get(), "rate_hz", w);
  r.envelopes_uv = read_any<float>(env.get(), "emg_envelope", w);
  r.driving_angle_deg = read_any<float>(env.get(), "driving_angle_deg", w);
  return r;
}

}  // namespace glutescope::pipeline
