#include "motion/gyro_bias_estimator.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace glutescope::motion {

namespace {
void require_positive(double value, const char* name) {
  if (!(std::isfinite(value) && value > 0.0)) {
    throw std::invalid_argument(std::string("gyro bias setting ") + name +
                                " must be a positive finite number, got " + std::to_string(value));
  }
}
}  // namespace

GyroBiasEstimator::GyroBiasEstimator(const GyroBiasSettings& settings) : settings_(settings) {
  require_positive(settings.stationary_threshold_dps, "stationary_threshold_dps");
  require_positive(settings.stationary_period_s, "stationary_period_s");
  require_positive(settings.cutoff_hz, "cutoff_hz");
}

void GyroBiasEstimator::reset() noexcept {
  bias_dps_.setZero();
  still_for_s_ = 0.0;
}

Eigen::Vector3d GyroBiasEstimator::update(const Eigen::Vector3d& gyro_dps, double dt_s) noexcept {
  const Eigen::Vector3d corrected = gyro_dps - bias_dps_;
  if (!(std::isfinite(dt_s) && dt_s > 0.0) || !corrected.allFinite()) return corrected;
  if (corrected.cwiseAbs().maxCoeff() > settings_.stationary_threshold_dps) {
    still_for_s_ = 0.0;
    return corrected;
  }
  if (still_for_s_ < settings_.stationary_period_s) {
    still_for_s_ += dt_s;
    return corrected;
  }
  // First-order update of the offset towards the measured rate: the corrected rate is high-passed with
  // corner cutoff_hz. The coefficient 2 pi fc dt is the forward-Euler step of that low-pass, capped at 1.
  const double coefficient = std::min(1.0, 2.0 * std::numbers::pi * settings_.cutoff_hz * dt_s);
  bias_dps_ += coefficient * corrected;
  return gyro_dps - bias_dps_;
}

}  // namespace glutescope::motion
