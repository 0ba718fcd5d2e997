// EMG counts [samples x channels] in the width the recording needs: 16-bit when the file stores 16-bit
// counts (every device whose ADC word fits: the simulator, BITalino, Trigno's scaled words), 32-bit otherwise
// (24-bit ADCs such as the ADS1299 of the OpenBCI Cyton). Reads always widen to int32, so every consumer sees
// the same values whichever width holds them; a 16-bit recording takes half the memory (the 1-hour 8-channel
// analysis: 116 MB instead of 232 MB; docs/PERFORMANCE.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace glutescope::exercise {

// Read-only view of counts held as int16 or int32 (not owning).
class CountsView {
 public:
  CountsView() = default;
  CountsView(std::span<const std::int32_t> wide) noexcept  // NOLINT(google-explicit-constructor)
      : wide_(wide.data()), size_(wide.size()) {}
  CountsView(const std::vector<std::int32_t>& wide) noexcept  // NOLINT(google-explicit-constructor)
      : CountsView(std::span<const std::int32_t>(wide)) {}
  explicit CountsView(std::span<const std::int16_t> narrow) noexcept
      : narrow_(narrow.data()), size_(narrow.size()) {}

  [[nodiscard]] std::int32_t operator[](std::size_t i) const noexcept {
    return narrow_ != nullptr ? std::int32_t{narrow_[i]} : wide_[i];
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  // f(std::span<const std::int16_t>) or f(std::span<const std::int32_t>): one instantiation per width, so
  // loops over the counts run without a width test per value.
  template <typename F>
  decltype(auto) visit(F&& f) const {
    if (narrow_ != nullptr) return std::forward<F>(f)(std::span<const std::int16_t>(narrow_, size_));
    return std::forward<F>(f)(std::span<const std::int32_t>(wide_, size_));
  }

 private:
  const std::int16_t* narrow_ = nullptr;
  const std::int32_t* wide_ = nullptr;
  std::size_t size_ = 0;
};

// Owning counts, 16- or 32-bit (see above). Built from a vector of either width; assign() and resize()
// keep the vector interface the writers of SessionData use.
class EmgCounts {
 public:
  EmgCounts() = default;
  EmgCounts(std::vector<std::int32_t> wide) noexcept  // NOLINT(google-explicit-constructor)
      : wide_(std::move(wide)) {}
  explicit EmgCounts(std::vector<std::int16_t> narrow) noexcept
      : narrow_(std::move(narrow)), is_narrow_(true) {}

  [[nodiscard]] bool narrow() const noexcept { return is_narrow_; }
  [[nodiscard]] std::size_t size() const noexcept { return is_narrow_ ? narrow_.size() : wide_.size(); }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::int32_t operator[](std::size_t i) const noexcept {
    return is_narrow_ ? std::int32_t{narrow_[i]} : wide_[i];
  }
  // Every value as int32 (a copy).
  [[nodiscard]] std::vector<std::int32_t> widened() const {
    return is_narrow_ ? std::vector<std::int32_t>(narrow_.begin(), narrow_.end()) : wide_;
  }
  [[nodiscard]] CountsView view() const noexcept {
    return is_narrow_ ? CountsView(std::span<const std::int16_t>(narrow_))
                      : CountsView(std::span<const std::int32_t>(wide_));
  }
  operator CountsView() const noexcept { return view(); }  // NOLINT(google-explicit-constructor)
  template <typename F>
  decltype(auto) visit(F&& f) const {
    return view().visit(std::forward<F>(f));
  }

  // n values equal to `value`, 32-bit.
  void assign(std::size_t n, std::int32_t value) {
    narrow_ = {};
    is_narrow_ = false;
    wide_.assign(n, value);
  }
  // Keeps the width; new values are 0.
  void resize(std::size_t n) {
    if (is_narrow_) {
      narrow_.resize(n);
    } else {
      wide_.resize(n);
    }
  }
  // The values, for the one who built them (SessionData's loader places rows by sample index).
  [[nodiscard]] std::span<std::int16_t> narrow_values() noexcept { return narrow_; }
  [[nodiscard]] std::span<std::int32_t> wide_values() noexcept { return wide_; }

 private:
  std::vector<std::int16_t> narrow_;
  std::vector<std::int32_t> wide_;
  bool is_narrow_ = false;
};

}  // namespace glutescope::exercise
