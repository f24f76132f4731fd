// Gradient tests of batch_norm (autograd/norm.cpp, tensor/cpu/norm.cpp): a hand-worked backward,
// float64 gradchecks of x, weight and bias for every row of tests/cases/norm.h (training: through the
// batch statistics; eval: running stats constant), and the float32 gradients against PyTorch; the
// same for batch_norm_act (batch norm + PReLU / ReLU fused), which must also equal the two ops bit for bit,
// and for batch_norm_add (batch norm + a residual add fused).
#include <cmath>

#include "cases/norm.h"
#include "test_util.h"

using namespace fk;

TEST_CASE("batch_norm: hand-worked backward through the batch statistics") {
  // one channel 1,2,3,4: mean 2.5, invstd 1/sqrt(1.25), xhat = -1.3416, -0.4472, 0.4472, 1.3416
  Tensor x = tensor({1, 2, 3, 4}, {4, 1}, DType::Float64).requires_grad_();
  Tensor w = tensor({1}, DType::Float64).requires_grad_();
  Tensor b = tensor({0}, DType::Float64).requires_grad_();
  Tensor y = batch_norm(x, w, b, Tensor(), Tensor(), /*training=*/true, 0.1, /*eps=*/0.0);
  y.backward(tensor({1, 0, 0, 0}, {4, 1}, DType::Float64));
  // dx = invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) = invstd * (0.3, -0.4, -0.1, 0.2)
  double is = 1 / std::sqrt(1.25);
  CHECK_CLOSE(x.grad(), tensor({0.3 * is, -0.4 * is, -0.1 * is, 0.2 * is}, {4, 1}, DType::Float64), 1e-12, 0, "dx");
  CHECK_CLOSE(w.grad(), tensor({-1.5 * is}, DType::Float64), 1e-12, 0, "dweight = sum dy * xhat");
  CHECK_CLOSE(b.grad(), tensor({1}, DType::Float64), 1e-12, 0, "dbias = sum dy");
}

TEST_CASE("batch_norm: hand-worked backward in eval is a per-channel scale") {
  Tensor x = tensor({1, 2, 3, 4}, {2, 2}, DType::Float64).requires_grad_();
  Tensor w = tensor({3, -1}, DType::Float64).requires_grad_();
  Tensor rm = tensor({1, 2}, DType::Float64), rv = tensor({4, 0.25}, DType::Float64);
  Tensor y = batch_norm(x, w, Tensor(), rm, rv, /*training=*/false, 0.1, 0.0);
  y.backward(ones({2, 2}, DType::Float64));
  // dx = w * invstd: 3/2 and -1/0.5; dweight = sum xhat: (0 + 1) and (0 + 4)
  CHECK_CLOSE(x.grad(), tensor({1.5, -2, 1.5, -2}, {2, 2}, DType::Float64), 1e-12, 0, "dx");
  CHECK_CLOSE(w.grad(), tensor({1, 4}, DType::Float64), 1e-12, 0, "dweight");
}

TEST_CASE("batch_norm: gradcheck of x, weight and bias") {
  for (const auto& c : test::batch_norm_cases) {
    SUBCASE(c.name) {
      manual_seed(11);
      int64_t C = c.x[1];
      Tensor x = test::leaf(c.x);
      Tensor rm = ops::mul(randn({C}, DType::Float64), 0.5);
      Tensor rv = ops::add(rand({C}, DType::Float64), 0.5);
      std::vector<Tensor> inputs{x};
      if (c.affine) {
        inputs.push_back(test::leaf({C}));
        inputs.push_back(test::leaf({C}));
      }
      // training updates running stats in place every call: give it throwaway copies (its output
      // does not read them); eval reads them as constants
      auto f = [&](const std::vector<Tensor>& in) {
        Tensor w = c.affine ? in[1] : Tensor(), b = c.affine ? in[2] : Tensor();
        Tensor m = c.training ? rm.clone() : rm, v = c.training ? rv.clone() : rv;
        return batch_norm(in[0], w, b, m, v, c.training, c.momentum, c.eps);
      };
      CHECK_GRADCHECK(f, inputs);
    }
  }
}

TEST_CASE("batch_norm: float32 gradients match PyTorch") {
  for (const auto& c : test::batch_norm_cases) {
    SUBCASE(c.name) {
      auto fx = [&](const char* what) { return test::fixture(std::string("norm/") + c.name + "_" + what + ".npy"); };
      Tensor x = fx("x").requires_grad_();
      Tensor w = c.affine ? fx("weight").requires_grad_() : Tensor();
      Tensor b = c.affine ? fx("bias").requires_grad_() : Tensor();
      Tensor y = batch_norm(x, w, b, fx("running_mean"), fx("running_var"), c.training, c.momentum, c.eps);
      y.backward(fx("dy"));
      std::string label = std::string("batch_norm(") + c.name + ", x=" + shape_str(c.x) + ")";
      CHECK_CLOSE(x.grad(), fx("dx"), 1e-5, 1e-5, label + " dx");
      if (c.affine) {
        CHECK_CLOSE(w.grad(), fx("dweight"), 1e-5, 1e-5, label + " dweight");
        CHECK_CLOSE(b.grad(), fx("dbias"), 1e-5, 1e-5, label + " dbias");
      }
    }
  }
}

TEST_CASE("batch_norm: running stats are buffers, never differentiated") {
  manual_seed(5);
  Tensor x = test::leaf({4, 3});
  Tensor rm = zeros({3}, DType::Float64), rv = ones({3}, DType::Float64);
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, true);
  sum(mul(y, y)).backward();
  CHECK(x.grad().defined());
  CHECK(!rm.requires_grad());
  CHECK(!rm.grad().defined());
  CHECK_CLOSE(rm, ops::mul(ops::mean(x.detach(), {0}), 0.1), 1e-12, 0,
              "running_mean after one step with momentum 0.1");
}

// ---- batch_norm_act: batch_norm then PReLU (alpha defined) or ReLU in one op

TEST_CASE("batch_norm_act: gradcheck of x, weight, bias and the PReLU slopes, and with ReLU") {
  for (const auto& c : test::batch_norm_cases) {
    for (bool with_prelu : {true, false}) {
      std::string name = c.name;
      name += with_prelu ? " prelu" : " relu";
      SUBCASE(name.c_str()) {
        manual_seed(12);
        int64_t C = c.x[1];
        Tensor rm = ops::mul(randn({C}, DType::Float64), 0.5);
        Tensor rv = ops::add(rand({C}, DType::Float64), 0.5);
        std::vector<Tensor> inputs{test::leaf(c.x)};
        if (c.affine) {
          inputs.push_back(test::leaf({C}));
          inputs.push_back(test::leaf({C}));
        }
        if (with_prelu) inputs.push_back(ops::sub(rand({C}, DType::Float64), 0.5).requires_grad_());
        auto f = [&](const std::vector<Tensor>& in) {
          Tensor w = c.affine ? in[1] : Tensor(), b = c.affine ? in[2] : Tensor();
          Tensor a = with_prelu ? in.back() : Tensor();
          Tensor m = c.training ? rm.clone() : rm, v = c.training ? rv.clone() : rv;
          return batch_norm_act(in[0], w, b, m, v, c.training, c.momentum, c.eps, a);
        };
        CHECK_GRADCHECK(f, inputs);
      }
    }
  }
}

TEST_CASE("batch_norm_act: float32 output, running stats and gradients equal batch_norm then prelu or relu") {
  // the fused kernels recompute the batch-norm output with the same expression and sum in the same
  // order as the two separate ops, so every value is the same bit for bit
  for (const auto& c : test::batch_norm_cases) {
    for (bool with_prelu : {true, false}) {
      std::string name = c.name;
      name += with_prelu ? " prelu" : " relu";
      SUBCASE(name.c_str()) {
        manual_seed(13);
        int64_t C = c.x[1];
        Tensor x0 = randn(c.x), w0 = randn({C}), b0 = randn({C}), a0 = ops::sub(rand({C}), 0.5);
        Tensor dz = randn(c.x), rm0 = randn({C}), rv0 = ops::add(rand({C}), 0.5);
        struct Run {
          Tensor x, w, b, a, rm, rv, z;
        };
        auto run = [&](bool fused) {
          Run r{x0.clone().requires_grad_(), c.affine ? w0.clone().requires_grad_() : Tensor(),
                c.affine ? b0.clone().requires_grad_() : Tensor(), with_prelu ? a0.clone().requires_grad_() : Tensor(),
                rm0.clone(), rv0.clone(), Tensor()};
          if (fused) {
            r.z = batch_norm_act(r.x, r.w, r.b, r.rm, r.rv, c.training, c.momentum, c.eps, r.a);
          } else {
            Tensor y = batch_norm(r.x, r.w, r.b, r.rm, r.rv, c.training, c.momentum, c.eps);
            r.z = with_prelu ? prelu(y, r.a) : relu(y);
          }
          r.z.backward(dz);
          return r;
        };
        Run f = run(true), s = run(false);
        CHECK_CLOSE(f.z, s.z, 0, 0, "output");
        CHECK_CLOSE(f.rm, s.rm, 0, 0, "running_mean");
        CHECK_CLOSE(f.rv, s.rv, 0, 0, "running_var");
        CHECK_CLOSE(f.x.grad(), s.x.grad(), 0, 0, "dx");
        if (c.affine) {
          CHECK_CLOSE(f.w.grad(), s.w.grad(), 0, 0, "dweight");
          CHECK_CLOSE(f.b.grad(), s.b.grad(), 0, 0, "dbias");
        }
        if (with_prelu) CHECK_CLOSE(f.a.grad(), s.a.grad(), 0, 0, "dalpha");
      }
    }
  }
}

TEST_CASE("batch_norm_act: float32 output, running stats and gradients match PyTorch") {
  // tests/fixtures/make_norm_act_loss.py: F.prelu / F.relu of F.batch_norm for every batch-norm row
  for (const auto& c : test::batch_norm_cases) {
    for (bool with_prelu : {true, false}) {
      std::string tag = c.name;
      tag += with_prelu ? "_prelu" : "_relu";
      SUBCASE(tag.c_str()) {
        auto fx = [&](const char* what) { return test::fixture("norm/" + tag + "_" + what + ".npy"); };
        Tensor x = fx("x").requires_grad_();
        Tensor w = c.affine ? fx("weight").requires_grad_() : Tensor();
        Tensor b = c.affine ? fx("bias").requires_grad_() : Tensor();
        Tensor a = with_prelu ? fx("alpha").requires_grad_() : Tensor();
        Tensor rm = fx("running_mean"), rv = fx("running_var");
        Tensor z = batch_norm_act(x, w, b, rm, rv, c.training, c.momentum, c.eps, a);
        z.backward(fx("dz"));
        const std::string label = "batch_norm_act(" + tag + ")";
        CHECK_CLOSE(z, fx("z"), 1e-5, 1e-5, label + " z");
        CHECK_CLOSE(rm, fx("running_mean_out"), 1e-6, 1e-6, label + " running_mean");
        CHECK_CLOSE(rv, fx("running_var_out"), 1e-6, 1e-6, label + " running_var");
        CHECK_CLOSE(x.grad(), fx("dx"), 1e-5, 1e-5, label + " dx");
        if (c.affine) {
          CHECK_CLOSE(w.grad(), fx("dweight"), 1e-5, 1e-5, label + " dweight");
          CHECK_CLOSE(b.grad(), fx("dbias"), 1e-5, 1e-5, label + " dbias");
        }
        if (with_prelu) CHECK_CLOSE(a.grad(), fx("dalpha"), 1e-5, 1e-5, label + " dalpha");
      }
    }
  }
}

TEST_CASE("batch_norm_act: wrong slopes are refused naming the op") {
  Tensor x = randn({2, 3, 4, 4});
  CHECK_THROWS_WITH_AS(ops::batch_norm_act(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, randn({2})),
                       doctest::Contains("batch_norm_act: alpha should hold 3 slopes"), Error);
  // a shared slope (one value) is composed from the two ops, as prelu allows it
  Tensor shared = full({1}, 0.25);
  Tensor z = batch_norm_act(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, shared);
  CHECK_CLOSE(z, prelu(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5), shared), 0, 0,
              "shared slope");
}

// ---- batch_norm_add: batch_norm then a residual add in one op

TEST_CASE("batch_norm_add: gradcheck of x, weight, bias and the residual") {
  for (const auto& c : test::batch_norm_cases) {
    SUBCASE(c.name) {
      manual_seed(14);
      int64_t C = c.x[1];
      Tensor rm = ops::mul(randn({C}, DType::Float64), 0.5);
      Tensor rv = ops::add(rand({C}, DType::Float64), 0.5);
      std::vector<Tensor> inputs{test::leaf(c.x), test::leaf(c.x)};
      if (c.affine) {
        inputs.push_back(test::leaf({C}));
        inputs.push_back(test::leaf({C}));
      }
      auto f = [&](const std::vector<Tensor>& in) {
        Tensor w = c.affine ? in[2] : Tensor(), b = c.affine ? in[3] : Tensor();
        Tensor m = c.training ? rm.clone() : rm, v = c.training ? rv.clone() : rv;
        return batch_norm_add(in[0], w, b, m, v, c.training, c.momentum, c.eps, in[1]);
      };
      CHECK_GRADCHECK(f, inputs);
    }
  }
}

TEST_CASE("batch_norm_add: float32 output, running stats and gradients equal batch_norm then add") {
  for (const auto& c : test::batch_norm_cases) {
    SUBCASE(c.name) {
      manual_seed(15);
      int64_t C = c.x[1];
      Tensor x0 = randn(c.x), r0 = randn(c.x), w0 = randn({C}), b0 = randn({C});
      Tensor dz = randn(c.x), rm0 = randn({C}), rv0 = ops::add(rand({C}), 0.5);
      struct Run {
        Tensor x, r, w, b, rm, rv, z;
      };
      auto run = [&](bool fused) {
        Run o{x0.clone().requires_grad_(), r0.clone().requires_grad_(),
              c.affine ? w0.clone().requires_grad_() : Tensor(), c.affine ? b0.clone().requires_grad_() : Tensor(),
              rm0.clone(), rv0.clone(), Tensor()};
        if (fused)
          o.z = batch_norm_add(o.x, o.w, o.b, o.rm, o.rv, c.training, c.momentum, c.eps, o.r);
        else
          o.z = add(batch_norm(o.x, o.w, o.b, o.rm, o.rv, c.training, c.momentum, c.eps), o.r);
        o.z.backward(dz);
        return o;
      };
      Run f = run(true), s = run(false);
      CHECK(f.z.grad_fn()->name() == "batch_norm_add");
      CHECK_CLOSE(f.z, s.z, 0, 0, "output");
      CHECK_CLOSE(f.rm, s.rm, 0, 0, "running_mean");
      CHECK_CLOSE(f.rv, s.rv, 0, 0, "running_var");
      CHECK_CLOSE(f.x.grad(), s.x.grad(), 0, 0, "dx");
      CHECK_CLOSE(f.r.grad(), s.r.grad(), 0, 0, "dresidual");
      if (c.affine) {
        CHECK_CLOSE(f.w.grad(), s.w.grad(), 0, 0, "dweight");
        CHECK_CLOSE(f.b.grad(), s.b.grad(), 0, 0, "dbias");
      }
    }
  }
}

TEST_CASE("batch_norm_add: a residual of another shape is refused by the op, broadcast by the composed form") {
  Tensor x = randn({2, 3, 4, 4});
  CHECK_THROWS_WITH_AS(ops::batch_norm_add(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, randn({2, 3, 4, 1})),
                       doctest::Contains("batch_norm_add: residual [2, 3, 4, 1] must match x [2, 3, 4, 4]"), Error);
  Tensor r = randn({1, 3, 1, 1});
  Tensor z = batch_norm_add(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5, r);
  CHECK_CLOSE(z, add(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5), r), 0, 0, "broadcast");
}
