// Checks a zoo model against a case recorded by tests/fixtures/fixture_io.py's model_case():
// deterministic weights from each state-dict key (det_fill, the same formula as the Python side),
// eval-mode outputs, train-mode outputs (dropout off), and parameter gradients of the scalar loss
// sum over outputs of sum(out * det_uniform("loss.<name>")).
// Tolerances (the project's model bar): outputs max |diff| <= 1e-4 * max |expected|; gradients 1e-3 relative (plus
// 1e-6 of the largest gradient norm, for gradients that are exactly 0 up to rounding).
#pragma once

#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "layers/activation.h"
#include "models/zoo/zoo.h"
#include "tensor/elementwise.h"
#include "test_util.h"

namespace fk::test {

// n values in [-1, 1): splitmix64 of (crc32(key) << 32) + i, top 24 bits (fixture_io.det_uniform).
inline std::vector<double> det_uniform(const std::string& key, int64_t n) {
  uint32_t crc = 0xFFFFFFFFu;  // zlib.crc32
  for (unsigned char c : key) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  crc ^= 0xFFFFFFFFu;
  std::vector<double> out(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = (uint64_t(crc) << 32) + uint64_t(i);
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    out[size_t(i)] = double(z >> 40) / double(1 << 23) - 1.0;
  }
  return out;
}

// fixture_io.det_value: the value of state-dict entry `key` with `shape`
inline std::vector<double> det_value(const std::string& key, const Shape& shape) {
  auto ends = [&](const std::string& s) { return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0; };
  int64_t n = numel_of(shape);
  std::vector<double> v = det_uniform(key, n);
  for (double& u : v) {
    if (ends("running_var")) u = 1.0 + 0.5 * u;
    else if (ends("running_mean")) u = 0.1 * u;
    else if (shape.size() >= 2) u = u * std::sqrt(3.0 / double(n / shape[0]));
    else if (ends("bias")) u = 0.1 * u;
    else u = 0.75 + 0.25 * u;
  }
  return v;
}

// Sets every floating-point state-dict entry of `m` to det_value (num_batches_tracked is left alone).
inline void det_fill(Module& m) {
  for (const auto& [key, t] : m.state_dict()) {
    if (t.dtype() != DType::Float32 && t.dtype() != DType::Float64) continue;
    Tensor dst = t;
    ops::copy_(dst, fk::tensor(det_value(key, t.shape()), t.shape(), DType::Float64));
  }
}

// max |a - b| <= rel * max |b| (and shapes equal); "" when it holds, else a report
inline std::string compare_scaled(const Tensor& a, const Tensor& b, double rel) {
  if (a.shape() != b.shape()) return "shape " + shape_str(a.shape()) + " vs expected " + shape_str(b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double scale = 0, err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < vb.size(); ++i) scale = std::max(scale, std::abs(vb[i]));
  for (size_t i = 0; i < vb.size(); ++i) {
    double e = std::abs(va[i] - vb[i]);
    if (!(e <= err)) err = e, worst = i;  // NaN counts as worst
  }
  if (err <= rel * scale) return "";
  return "max |diff| " + std::to_string(err) + " at flat index " + std::to_string(worst) + " (got " +
         std::to_string(va[worst]) + ", expected " + std::to_string(vb[worst]) + "), output scale " +
         std::to_string(scale) + ", allowed " + std::to_string(rel * scale);
}

#define CHECK_SCALED(actual, expected, rel, label)                              \
  do {                                                                          \
    std::string fk_msg_ = ::fk::test::compare_scaled((actual), (expected), (rel)); \
    CHECK_MESSAGE(fk_msg_.empty(), (label) << ": " << fk_msg_);                 \
  } while (0)

inline bool fixture_exists(const std::string& rel) { return std::filesystem::exists(fixture_path(rel)); }

// The whole check of one recorded case (fixture dir tests/fixtures/<dir>/): `model` is filled with
// det_fill, run in eval mode on input.npy and compared with out_*.npy; then, when the case has
// train-mode results, dropout is switched off and train-mode outputs, every parameter's gradient
// norm (by name) and the listed full gradients are compared.
inline void check_model_case(const std::string& dir, models::Model& model, const std::vector<std::string>& grad_keys = {}) {
  det_fill(model);
  Tensor x = fixture(dir + "/input.npy");
  model.eval();
  {
    autograd::NoGrad ng;
    for (const auto& [name, y] : model.forward_outputs(x))
      CHECK_SCALED(y, fixture(dir + "/out_" + name + ".npy"), 1e-4, dir + " eval output '" + name + "'");
  }
  if (!fixture_exists(dir + "/grad_norms.npy")) return;
  for (auto& [name, m] : model.named_modules())
    if (auto* d = dynamic_cast<Dropout*>(m.get())) d->p = 0.0;
  model.train();
  model.zero_grad();
  Tensor loss;
  for (const auto& [name, y] : model.forward_outputs(x)) {
    CHECK_SCALED(y, fixture(dir + "/train_out_" + name + ".npy"), 1e-4, dir + " train output '" + name + "'");
    Tensor r = fk::tensor(det_uniform("loss." + name, y.numel()), y.shape(), y.dtype());
    Tensor term = fk::sum(fk::mul(y, r));
    loss = loss.defined() ? fk::add(loss, term) : term;
  }
  loss.backward();

  std::vector<std::string> names;
  {
    std::ifstream f(fixture_path(dir + "/grad_names.txt"));
    for (std::string line; std::getline(f, line);) names.push_back(line);
  }
  auto norms = fixture(dir + "/grad_norms.npy").to_vector<double>();
  // Parameters whose exact gradient is 0 (a BatchNorm bias followed by a conv and a train-mode
  // BatchNorm, which removes any per-channel constant) get rounding noise on both sides: the absolute
  // floor is relative to the largest gradient norm, not a fixed number.
  double max_norm = 0;
  for (double n : norms) max_norm = std::max(max_norm, n);
  auto params = model.named_parameters();
  REQUIRE_MESSAGE(params.size() == names.size(), dir << ": " << params.size() << " parameters, PyTorch has " << names.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& [name, p] = params[i];
    CHECK_MESSAGE(name == names[i], dir << ": parameter " << i << " is '" << name << "', PyTorch's is '" << names[i] << "'");
    double got = 0;
    if (p.grad().defined())
      for (double g : p.grad().to_vector<double>()) got += g * g;
    got = std::sqrt(got);
    CHECK_MESSAGE(std::abs(got - norms[i]) <= 1e-3 * norms[i] + 1e-6 * max_norm,
                  dir << ": |grad " << name << "| = " << got << ", PyTorch " << norms[i]);
  }
  for (const auto& key : grad_keys) {
    Tensor g = model.parameter(key).grad();
    REQUIRE_MESSAGE(g.defined(), dir << ": no gradient reached " << key);
    CHECK_SCALED(g, fixture(dir + "/grad_" + key + ".npy"), 1e-3, dir + " grad " + key);
  }
}

// ---- PyTorch's state-dict listing (keys, shapes, parameter count), committed by the fixture scripts
// in one of two formats (make_ir.py's <arch>_keys.txt, make_inception_mobilefacenet.py's state_dict.txt)

// <arch>_keys.txt: "num_parameters N", then "key d0 d1 ..." per state-dict entry of PyTorch's model.
// Checks that `m` has the same keys in the same order, the same shapes and the same parameter count.
inline void check_keys_like_pytorch(const std::string& rel, const Module& m) {
  std::ifstream f(test::fixture_path(rel));
  REQUIRE_MESSAGE(f.good(), "missing fixture " << rel);
  std::string word;
  int64_t num_parameters = 0;
  f >> word >> num_parameters;
  REQUIRE(word == "num_parameters");
  CHECK_MESSAGE(m.num_parameters() == num_parameters, rel << ": " << m.num_parameters() << " parameters, PyTorch has "
                                                          << num_parameters);
  std::vector<std::pair<std::string, Shape>> want;
  for (std::string line; std::getline(f, line);) {
    if (line.empty()) continue;
    std::istringstream is(line);
    std::string key;
    is >> key;
    Shape shape;
    for (int64_t d; is >> d;) shape.push_back(d);
    want.emplace_back(key, shape);
  }
  StateDict sd = m.state_dict();
  CHECK_MESSAGE(sd.size() == want.size(), rel << ": " << sd.size() << " state-dict keys, PyTorch has " << want.size());
  for (size_t i = 0; i < std::min(sd.size(), want.size()); ++i) {
    const auto& [key, t] = sd.items()[i];
    CHECK_MESSAGE(key == want[i].first, rel << ": key " << i << " is '" << key << "', PyTorch's is '" << want[i].first << "'");
    CHECK_MESSAGE(t.shape() == want[i].second, rel << ": " << key << " has shape " << shape_str(t.shape())
                                                   << ", PyTorch's is " << shape_str(want[i].second));
  }
}

// state_dict.txt: "# parameters: N", then "<key> [d0, d1, ...]" per state-dict entry, in order
inline std::pair<int64_t, std::vector<std::string>> read_state_dict_list(const std::string& rel) {
  std::ifstream f(test::fixture_path(rel));
  REQUIRE_MESSAGE(f.good(), "missing fixture " << rel);
  std::string line;
  std::getline(f, line);
  REQUIRE(line.rfind("# parameters: ", 0) == 0);
  int64_t n = std::stoll(line.substr(14));
  std::vector<std::string> entries;
  while (std::getline(f, line)) entries.push_back(line);
  return {n, entries};
}

// "<key> [d0, d1, ...]" as the fixture writes it
inline std::string entry_line(const std::string& key, const Shape& s) {
  std::ostringstream os;
  os << key << " [";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

// The model's state dict is the first `n` entries of `want`: same keys, same order, same shapes.
inline void check_entries(const Module& m, const std::vector<std::string>& want, size_t n) {
  auto items = m.state_dict().items();
  REQUIRE_MESSAGE(items.size() == n, items.size() << " state-dict entries, PyTorch has " << n);
  for (size_t i = 0; i < n; ++i) {
    std::string got = entry_line(items[i].first, items[i].second.shape());
    CHECK_MESSAGE(got == want[i], "entry " << i << ": '" << got << "', PyTorch's '" << want[i] << "'");
  }
}

// ---- float64 runs and fixture text, for the families whose train-mode cases are recorded in float64

// A zoo model computing in float64: the caller converts its parameters and buffers with
// to(DType::Float64), and forward converts the (float32) fixture input. The train-mode cases are
// recorded in float64 (tests/fixtures/make_ir.py says why: dozens of BN biases have an exactly zero
// gradient in train mode, where float32 returns rounding noise above a fixed 1e-6 floor).
template <class Net>
class InFloat64 : public Net {
 public:
  using Net::Net;
  Tensor forward(const Tensor& x) override { return Net::forward(x.to(DType::Float64)); }
};

inline std::string read_text(const std::string& rel) {
  std::ifstream f(test::fixture_path(rel));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace fk::test
