// Float64 gradchecks of two small whole networks, every input and parameter at once:
//   1. conv - batch norm (training) - PReLU - max pool (ceil mode) - linear - log_softmax
//   2. a residual block with a squeeze-excitation gate (IR-SE / SENet style):
//      y = relu(x + se(bn(conv(relu(bn(conv(x)))))))
//      se(h) = h * sigmoid(conv1x1(relu(conv1x1(adaptive_avg_pool(h)))))
// They prove the derivatives compose: broadcasting, shared inputs and the engine's ordering.
#include "test_util.h"

using namespace fk;
using test::leaf;
using V = std::vector<Tensor>;

TEST_CASE("network: conv-BN-PReLU-maxpool-linear-log_softmax passes gradcheck") {
  manual_seed(21);
  Tensor x = leaf({2, 2, 6, 5});
  Tensor w = leaf({3, 2, 3, 3}), b = leaf({3});
  Tensor gamma = (rand({3}, DType::Float64) + 0.5).detach().requires_grad_(), beta = leaf({3});
  Tensor alpha = (rand({3}, DType::Float64) * 0.5).detach().requires_grad_();
  Tensor fc_b = leaf({4});
  auto net = [](const V& v) {
    Conv2dOptions conv;
    conv.padding = {1, 0};
    Pool2dOptions pool;
    pool.kernel = {3, 3};
    pool.stride = {2, 2};
    pool.ceil_mode = true;
    Tensor h = conv2d(v[0], v[1], v[2], conv);                                 // (2,3,6,3)
    h = batch_norm(h, v[3], v[4], Tensor(), Tensor(), /*training=*/true);      // batch statistics
    h = prelu(h, v[5]);
    h = max_pool2d(h, pool);                                                   // (2,3,3,1)
    h = flatten(h, 1);
    return log_softmax(linear(h, v[6], v[7]), 1);
  };
  // conv (6,5) pad (1,0) -> (6,3); 3x3/2 ceil pool -> (3,1): the ceil rule keeps the partial windows
  Tensor fc_w = leaf({4, 3 * 3 * 1});
  CHECK_GRADCHECK(net, {x, w, b, gamma, beta, alpha, fc_w, fc_b});
}

TEST_CASE("network: residual block with a squeeze-excitation gate passes gradcheck") {
  manual_seed(22);
  const int64_t C = 4, R = 2;  // channels, SE bottleneck
  Tensor x = leaf({2, C, 5, 5});
  Tensor w1 = leaf({C, C, 3, 3}), w2 = leaf({C, C, 3, 3});
  Tensor g1 = (rand({C}, DType::Float64) + 0.5).detach().requires_grad_(), b1 = leaf({C});
  Tensor g2 = (rand({C}, DType::Float64) + 0.5).detach().requires_grad_(), b2 = leaf({C});
  Tensor se_w1 = leaf({R, C, 1, 1}), se_b1 = leaf({R}), se_w2 = leaf({C, R, 1, 1}), se_b2 = leaf({C});
  auto block = [](const V& v) {
    Conv2dOptions same;
    same.padding = {1, 1};
    Tensor h = relu(batch_norm(conv2d(v[0], v[1], Tensor(), same), v[3], v[4], Tensor(), Tensor(), true));
    h = batch_norm(conv2d(h, v[2], Tensor(), same), v[5], v[6], Tensor(), Tensor(), true);
    Tensor s = adaptive_avg_pool2d(h, {1, 1});
    s = sigmoid(conv2d(relu(conv2d(s, v[7], v[8])), v[9], v[10]));
    return relu(v[0] + h * s);  // x is used twice: by the convs and by the shortcut
  };
  CHECK_GRADCHECK(block, {x, w1, w2, g1, b1, g2, b2, se_w1, se_b1, se_w2, se_b2});
}
