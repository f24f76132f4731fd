// The backward engine: accumulation into .grad, shared subexpressions, NoGrad, detach, hooks,
// retain_grad, graph freeing, and misuse errors.
#include "test_util.h"

using namespace fk;

TEST_CASE("backward: scalar loss through a diamond accumulates both paths") {
  Tensor x = tensor({1, 2, 3}, DType::Float64).requires_grad_();
  Tensor y = x * x;               // used twice below
  Tensor loss = sum(y * 2.0 + y);  // = 3 x^2
  loss.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 12, 18});
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn()->name() == "mul");
  CHECK_FALSE(y.grad().defined());  // non-leaf grads are not kept by default
}

TEST_CASE("backward: gradients accumulate across calls until zero_grad") {
  Tensor x = tensor({1, 2}, DType::Float64).requires_grad_();
  sum(x * 3.0).backward();
  sum(x * 3.0).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 6});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("backward: non-scalar output takes an explicit gradient") {
  Tensor x = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("only for scalar outputs"), Error);
  y.backward(tensor({1, 10}, DType::Float64), true);
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 20});
  CHECK_THROWS_WITH_AS(y.backward(tensor({1, 2, 3}, DType::Float64)), doctest::Contains("does not match"), Error);
}

TEST_CASE("backward: the graph is freed unless retain_graph") {
  Tensor x = tensor({2}, DType::Float64).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward(Tensor(), true);
  y.backward();
  CHECK(x.grad().item() == doctest::Approx(2 * std::exp(2.0)));
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("a second time"), Error);
}

TEST_CASE("NoGrad and detach: nothing is recorded") {
  Tensor x = tensor({1}, DType::Float64).requires_grad_();
  {
    autograd::NoGrad guard;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
  }
  CHECK((x * 2.0).requires_grad());
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == x.storage());
  CHECK_THROWS_WITH_AS(sum(d * 2.0).backward(), doctest::Contains("does not require grad"), Error);
}

TEST_CASE("hooks: leaf and non-leaf hooks see and may replace the gradient") {
  Tensor x = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor seen;
  Tensor h = x * 3.0;
  h.register_hook([&](const Tensor& g) {
    seen = g.clone();
    return ops::mul(g, 2.0);  // doubles what flows on
  });
  x.register_hook([](const Tensor& g) { return Tensor(); });  // observe only
  sum(h * h).backward();  // d/dh = 2h = [6, 12]
  CHECK(seen.to_vector<double>() == std::vector<double>{6, 12});
  CHECK(x.grad().to_vector<double>() == std::vector<double>{36, 72});  // 2 * 3 * [6, 12]
}

TEST_CASE("retain_grad: a non-leaf keeps its .grad") {
  Tensor x = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor h = x * 3.0;
  h.retain_grad();
  sum(h * h).backward();
  CHECK(h.grad().to_vector<double>() == std::vector<double>{6, 12});
}

TEST_CASE("requires_grad_: only float leaves") {
  Tensor x = tensor({1}).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.requires_grad_(), doctest::Contains("not a leaf"), Error);
  CHECK_THROWS_WITH_AS(zeros({1}, DType::Int64).requires_grad_(), doctest::Contains("float32/float64"), Error);
}

TEST_CASE("backward: an unused branch does not block the rest") {
  Tensor x = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor w = tensor({3, 4}, DType::Float64).requires_grad_();
  Tensor a = x * w;
  Tensor b = where(ops::gt(x, 10.0), a, x);  // a's branch gets zeros, x's gets dy
  sum(b).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1});
  CHECK(w.grad().to_vector<double>() == std::vector<double>{0, 0});
}

TEST_CASE("gradcheck: reports a wrong derivative") {
  // a deliberately wrong op: forward x^2, backward claims 3x
  auto bad = [](const std::vector<Tensor>& v) {
    Tensor y = ops::mul(v[0], v[0]);
    return autograd::record("bad_square", y, {v[0]}, [x = autograd::saved(v[0])](const Tensor& dy) {
      return autograd::Grads{ops::mul(dy, ops::mul(x, 3.0))};
    });
  };
  manual_seed(3);
  auto r = autograd::gradcheck(bad, {test::leaf({3})});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("analytic") != std::string::npos);
  // and one that writes nothing is caught too (the .grad seed trick)
  auto silent = [](const std::vector<Tensor>& v) {
    return autograd::record("silent", ops::mul(v[0], 2.0), {v[0]},
                            [](const Tensor& dy) { return autograd::Grads{Tensor()}; });
  };
  CHECK_FALSE(autograd::gradcheck(silent, {test::leaf({3})}).ok);
  CHECK_THROWS_WITH_AS(autograd::gradcheck(bad, {tensor({1})}), doctest::Contains("float64"), Error);
}

TEST_CASE("gradcheck: a vacuous check (every gradient zero) fails unless zero is declared right") {
  manual_seed(4);
  // an output cut off from its input (made by the raw, non-recording ops): analytic 0, numeric 0
  auto cut = [](const std::vector<Tensor>& v) { return ops::add(ops::mul(v[0], 0.0), 1.0); };
  auto r = autograd::gradcheck(cut, {test::leaf({2, 3})});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("every analytic and numeric gradient is zero (6 entries)") != std::string::npos);
  CHECK(autograd::gradcheck(cut, {test::leaf({2, 3})}, 1e-6, 1e-5, 1e-3, /*allow_zero=*/true).ok);
  // one input with a real gradient is enough for the check to mean something
  auto half = [](const std::vector<Tensor>& v) { return v[0] * 0.0 + v[1] * 2.0; };
  auto h = autograd::gradcheck(half, {test::leaf({3}), test::leaf({3})});
  CHECK_MESSAGE(h.ok, h.message);
}

TEST_CASE("backward: a leaf keeps the gradient itself when nothing else holds it, else a copy") {
  // nothing else holds x's gradient: .grad is that tensor (seen through a hook that keeps no handle)
  Tensor x = tensor({1, 2, 3}, DType::Float64).requires_grad_();
  const void* delivered = nullptr;
  x.register_hook([&](const Tensor& g) {
    delivered = g.raw_data();
    return Tensor();
  });
  sum(x * x).backward();
  CHECK(x.grad().raw_data() == delivered);
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 4, 6});

  // add's backward hands one gradient to both leaves: each must get its own
  Tensor a = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor b = tensor({3, 4}, DType::Float64).requires_grad_();
  sum((a + b) * 5.0).backward();
  CHECK(a.grad().storage() != b.grad().storage());
  Tensor ga = a.grad();
  ops::fill_(ga, 0.0);
  CHECK(b.grad().to_vector<double>() == std::vector<double>{5, 5});

  // a hook that keeps the gradient: the leaf accumulates into its own copy, the kept one stays
  Tensor y = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor kept;
  y.register_hook([&](const Tensor& g) {
    kept = g;
    return Tensor();
  });
  sum(y * 3.0).backward();
  Tensor first = kept;
  sum(y * 3.0).backward();
  CHECK(y.grad().to_vector<double>() == std::vector<double>{6, 6});
  CHECK(first.to_vector<double>() == std::vector<double>{3, 3});

  // a leaf as the root with the caller's gradient: .grad is a copy, the caller's tensor is untouched
  Tensor z = tensor({1, 2}, DType::Float64).requires_grad_();
  Tensor given = tensor({7, 8}, DType::Float64);
  z.backward(given);
  z.backward(given);
  CHECK(z.grad().to_vector<double>() == std::vector<double>{14, 16});
  CHECK(given.to_vector<double>() == std::vector<double>{7, 8});
}
