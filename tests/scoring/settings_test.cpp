// Analysis settings: defaults, TOML round trip and key-naming errors.
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "exercise/analysis_settings.hpp"

namespace ex = glutescope::exercise;
using ::testing::HasSubstr;

namespace {
std::string error_of(const std::string& toml) {
  try {
    (void)ex::analysis_settings_from_toml(toml, "test.toml");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(AnalysisSettings, DefaultsAreValid) { EXPECT_NO_THROW(ex::validate(ex::kDefaultAnalysisSettings)); }

TEST(AnalysisSettings, TomlOverridesOnlyGivenKeys) {
  const ex::AnalysisSettings s = ex::analysis_settings_from_toml(
      "[verdicts]\nlate_glute_delay_ms = 150\nratios_without_mvc = true\n[motion.segmenter]\nenter_fraction "
      "= 0.4\n"
      "[emg]\nbandpass_order = 2\n");
  EXPECT_DOUBLE_EQ(s.verdicts.late_glute_delay_ms, 150.0);
  EXPECT_TRUE(s.verdicts.ratios_without_mvc);
  EXPECT_DOUBLE_EQ(s.motion.segmenter.enter_fraction, 0.4);
  EXPECT_EQ(s.emg.bandpass_order, 2);
  EXPECT_DOUBLE_EQ(s.verdicts.pelvic_roll_threshold_deg,
                   ex::kDefaultAnalysisSettings.verdicts.pelvic_roll_threshold_deg);
}

TEST(AnalysisSettings, TomlRoundTrip) {
  ex::AnalysisSettings s = ex::kDefaultAnalysisSettings;
  s.onset.k_sd = 4.25;
  s.fatigue.welch_segment_samples = 512;
  s.verdicts.ratios_without_mvc = true;
  const ex::AnalysisSettings back = ex::analysis_settings_from_toml(ex::to_toml(s));
  EXPECT_EQ(ex::to_json(back), ex::to_json(s));
  EXPECT_DOUBLE_EQ(ex::to_json(back)["onset"]["k_sd"].get<double>(), 4.25);
  EXPECT_EQ(ex::to_json(back)["motion"]["segmenter"]["min_rep_s"].get<double>(),
            s.motion.segmenter.min_rep_s);
}

TEST(AnalysisSettings, UnknownKeyIsNamed) {
  EXPECT_THAT(error_of("[verdicts]\nlate_glute_ms = 100\n"),
              HasSubstr("unknown settings key 'verdicts.late_glute_ms'"));
  EXPECT_THAT(error_of("[verdict]\nx = 1\n"), HasSubstr("unknown settings table [verdict]"));
  EXPECT_THAT(error_of("k_sd = 3\n"), HasSubstr("unknown settings key 'k_sd'"));
}

TEST(AnalysisSettings, OutOfRangeAndTypeErrorsNameTheKey) {
  EXPECT_THAT(error_of("[verdicts]\nlate_glute_delay_ms = -5\n"),
              HasSubstr("verdicts.late_glute_delay_ms = -5 ms"));
  EXPECT_THAT(error_of("[onset]\nk_sd = \"three\"\n"), HasSubstr("onset.k_sd must be a number"));
  EXPECT_THAT(error_of("[emg]\nbandpass_order = 2.5\n"), HasSubstr("emg.bandpass_order must be an integer"));
  EXPECT_THAT(error_of("[emg]\nbandpass_low_hz = 500\n"), HasSubstr("emg.bandpass_low_hz"));
  EXPECT_THAT(error_of("[motion.segmenter]\nexit_fraction = 0.5\n"), HasSubstr("exit_fraction"));
  EXPECT_THAT(error_of("[onset\nk_sd = 3\n"), HasSubstr("test.toml:1"));
}
