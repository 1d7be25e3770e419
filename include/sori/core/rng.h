// Deterministic seeding. Every random choice in the data pipeline derives its seed from
// (run seed, epoch, batch, item) through mix_seed, never from thread timing, so results are the
// same whatever the number of loader threads.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace sori {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

inline std::uint64_t mix_seed(std::initializer_list<std::uint64_t> parts) {
  std::uint64_t h = 0x243F6A8885A308D3ULL;
  for (auto p : parts) h = splitmix64(h ^ p);
  return h;
}

// Uniform integer in [0, n) from a 64-bit engine, independent of the standard library's
// distribution implementation (so shuffles are identical across toolchains).
template <class Engine>
std::uint64_t uniform_below(Engine& rng, std::uint64_t n) {
  return n == 0 ? 0 : static_cast<std::uint64_t>((static_cast<unsigned __int128>(rng()) * n) >> 64);
}

template <class Engine>
double uniform_unit(Engine& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// Standard normal draw by Box-Muller from two uniform_unit draws. std::normal_distribution's
// algorithm is left to the standard library (libstdc++ and libc++ give different streams); this
// depends only on the engine and on log/sqrt/cos, which agree to the last bit or so.
template <class Engine>
double standard_normal(Engine& rng) {
  const double u1 = 1.0 - uniform_unit(rng);  // (0, 1]: log stays finite
  const double u2 = uniform_unit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

template <class Engine, class Vec>
void shuffle_in_place(Vec& v, Engine& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    std::size_t j = uniform_below(rng, i);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace sori
