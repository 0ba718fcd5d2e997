#include "core/montage.hpp"

#include <array>
#include <utility>

namespace glutescope {
namespace {

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) noexcept {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view text) noexcept {
  for (const auto& [v, name] : table) {
    if (name == text) return v;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<Side, std::string_view>, 4> kSides{
    {{Side::left, "left"}, {Side::right, "right"}, {Side::midline, "midline"}, {Side::unknown, "unknown"}}};

constexpr std::array<std::pair<Muscle, std::string_view>, 6> kMuscles{
    {{Muscle::gluteus_maximus, "gluteus_maximus"},
     {Muscle::gluteus_medius, "gluteus_medius"},
     {Muscle::erector_spinae_lumbar, "erector_spinae_lumbar"},
     {Muscle::biceps_femoris, "biceps_femoris"},
     {Muscle::tensor_fasciae_latae, "tensor_fasciae_latae"},
     {Muscle::other, "other"}}};

constexpr std::array<std::pair<Exercise, std::string_view>, 4> kExercises{{{Exercise::bridge, "bridge"},
                                                                           {Exercise::clamshell, "clamshell"},
                                                                           {Exercise::mvc, "mvc"},
                                                                           {Exercise::other, "other"}}};

constexpr std::array<std::pair<Segment, std::string_view>, 4> kSegments{
    {{Segment::sacrum, "sacrum"},
     {Segment::thigh_left, "thigh_left"},
     {Segment::thigh_right, "thigh_right"},
     {Segment::other, "other"}}};

constexpr std::array<std::pair<Joint, std::string_view>, 3> kJoints{
    {{Joint::hip, "hip"}, {Joint::knee, "knee"}, {Joint::pelvis, "pelvis"}}};

constexpr std::array<std::pair<JointMotion, std::string_view>, 5> kJointMotions{
    {{JointMotion::extension, "extension"},
     {JointMotion::flexion, "flexion"},
     {JointMotion::abduction, "abduction"},
     {JointMotion::tilt, "tilt"},
     {JointMotion::roll, "roll"}}};

}  // namespace

std::string_view to_string(Joint joint) noexcept { return name_of(kJoints, joint); }
std::string_view to_string(JointMotion motion) noexcept { return name_of(kJointMotions, motion); }
std::optional<Joint> parse_joint(std::string_view text) noexcept { return value_of(kJoints, text); }
std::optional<JointMotion> parse_joint_motion(std::string_view text) noexcept {
  return value_of(kJointMotions, text);
}
std::string_view to_string(Side side) noexcept { return name_of(kSides, side); }
std::string_view to_string(Muscle muscle) noexcept { return name_of(kMuscles, muscle); }
std::string_view to_string(Exercise exercise) noexcept { return name_of(kExercises, exercise); }
std::string_view to_string(Segment segment) noexcept { return name_of(kSegments, segment); }
std::optional<Side> parse_side(std::string_view text) noexcept { return value_of(kSides, text); }
std::optional<Muscle> parse_muscle(std::string_view text) noexcept { return value_of(kMuscles, text); }
std::optional<Exercise> parse_exercise(std::string_view text) noexcept { return value_of(kExercises, text); }
std::optional<Segment> parse_segment(std::string_view text) noexcept { return value_of(kSegments, text); }

std::optional<std::size_t> Montage::find(Muscle muscle, Side side) const noexcept {
  for (std::size_t i = 0; i < emg.size(); ++i) {
    if (emg[i].muscle == muscle && emg[i].side == side) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> Montage::find_imu(Segment segment) const noexcept {
  for (std::size_t i = 0; i < imu.size(); ++i) {
    if (imu[i].segment == segment) return i;
  }
  return std::nullopt;
}

Montage default_montage() {
  // Electrode sites: SENIAM for gluteus maximus, biceps femoris and TFL; gluteus medius and lumbar
  // erector spinae as used in the clinical studies cited in docs/MONTAGE.md.
  constexpr double kGain = 1000.0;
  constexpr double kUvPerCount = 0.1;  // ±3.2 mV input range over int16 at gain 1000
  Montage m;
  m.emg = {
      {"GMax_L", Muscle::gluteus_maximus, Side::left,
       "50% on the line between the sacral vertebrae and the greater trochanter", kGain, kUvPerCount},
      {"GMax_R", Muscle::gluteus_maximus, Side::right,
       "50% on the line between the sacral vertebrae and the greater trochanter", kGain, kUvPerCount},
      {"GMed_L", Muscle::gluteus_medius, Side::left,
       "50% on the line from the iliac crest to the greater trochanter", kGain, kUvPerCount},
      {"GMed_R", Muscle::gluteus_medius, Side::right,
       "50% on the line from the iliac crest to the greater trochanter", kGain, kUvPerCount},
      {"ES_L3_L", Muscle::erector_spinae_lumbar, Side::left, "3 cm lateral to the L3 spinous process", kGain,
       kUvPerCount},
      {"ES_L3_R", Muscle::erector_spinae_lumbar, Side::right, "3 cm lateral to the L3 spinous process", kGain,
       kUvPerCount},
      {"BF_L", Muscle::biceps_femoris, Side::left,
       "50% on the line between the ischial tuberosity and the lateral epicondyle of the tibia", kGain,
       kUvPerCount},
      {"TFL_L", Muscle::tensor_fasciae_latae, Side::left,
       "2 cm below the anterior superior iliac spine, over the muscle belly", kGain, kUvPerCount},
  };
  m.imu = {
      {"imu_sacrum", Segment::sacrum, "flat sacrum, S1-S2"},
      {"imu_thigh_L", Segment::thigh_left, "lateral distal third of the left thigh"},
      {"imu_thigh_R", Segment::thigh_right, "lateral distal third of the right thigh"},
  };
  return m;
}

}  // namespace glutescope
