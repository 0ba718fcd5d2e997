// Channel montage: which device channel records which muscle, on which side, from which electrode site.
// Plain data; no I/O (loading a montage file lives in store/montage_file).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glutescope {

enum class Side : std::uint8_t { left = 0, right = 1, midline = 2, unknown = 3 };

// Muscles glutescope scores. Values are stored in session files: append only, never renumber.
enum class Muscle : std::uint8_t {
  gluteus_maximus = 0,
  gluteus_medius = 1,
  erector_spinae_lumbar = 2,  // lumbar erector spinae at L3
  biceps_femoris = 3,
  tensor_fasciae_latae = 4,
  other = 255,
};

enum class Exercise : std::uint8_t { bridge = 0, clamshell = 1, mvc = 2, other = 255 };

std::string_view to_string(Side side) noexcept;
std::string_view to_string(Muscle muscle) noexcept;
std::string_view to_string(Exercise exercise) noexcept;
// Parse the names printed by to_string (snake_case); std::nullopt for anything else.
std::optional<Side> parse_side(std::string_view text) noexcept;
std::optional<Muscle> parse_muscle(std::string_view text) noexcept;
std::optional<Exercise> parse_exercise(std::string_view text) noexcept;

struct EmgChannel {
  std::string label;  // e.g. "GMax_L"
  Muscle muscle = Muscle::other;
  Side side = Side::unknown;
  std::string electrode_site;         // placement in words (SENIAM where it exists)
  double gain = 1.0;                  // amplifier gain (V/V)
  double microvolts_per_count = 1.0;  // ADC scale referred to the electrode (µV per count)
  // Role in an other:NAME exercise: "target" (its bursts make the reps when nothing moves), "compensator",
  // or empty (docs/IMPORT.md). Bridges and clamshells take their roles from the muscle.
  std::string role;
};

// Body segments that carry an IMU. Values are stored in session files: append only.
enum class Segment : std::uint8_t { sacrum = 0, thigh_left = 1, thigh_right = 2, other = 255 };
std::string_view to_string(Segment segment) noexcept;
std::optional<Segment> parse_segment(std::string_view text) noexcept;

// Joint (or segment) and motion of an angle channel (goniometer, motion-capture export): a fourth motion
// source for repetition segmentation (docs/MOTION.md "Motion sources"). Stored in session files by name.
enum class Joint : std::uint8_t { hip = 0, knee = 1, pelvis = 2 };
enum class JointMotion : std::uint8_t { extension = 0, flexion = 1, abduction = 2, tilt = 3, roll = 4 };
std::string_view to_string(Joint joint) noexcept;
std::string_view to_string(JointMotion motion) noexcept;
std::optional<Joint> parse_joint(std::string_view text) noexcept;
std::optional<JointMotion> parse_joint_motion(std::string_view text) noexcept;

struct ImuSensor {
  std::string label;  // e.g. "imu_sacrum"
  Segment segment = Segment::other;
  std::string site;  // placement in words
};

struct Montage {
  std::vector<EmgChannel> emg;
  std::vector<ImuSensor> imu;

  // Index of the EMG channel for (muscle, side), if the montage has one.
  [[nodiscard]] std::optional<std::size_t> find(Muscle muscle, Side side) const noexcept;
  [[nodiscard]] std::optional<std::size_t> find_imu(Segment segment) const noexcept;
};

// The simulator's and the wearable's default montage: 8 EMG channels and 3 IMUs (docs/MONTAGE.md).
// Channel scales are those of the simulated device (DEVICE_INFO overrides them when recording).
Montage default_montage();

}  // namespace glutescope
