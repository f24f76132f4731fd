// StateDict (tensor/state_dict.h): under(), the prefix selection the weight readers, the trainer and
// the schedulers share.
#include "tensor/creation.h"
#include "tensor/state_dict.h"
#include "test_util.h"

TEST_CASE("StateDict::under: the entries below a prefix, the prefix removed, in order") {
  fk::StateDict sd;
  sd.set("model.a", fk::zeros({1}));
  sd.set("modelx.b", fk::zeros({2}));
  sd.set("model.c.d", fk::zeros({3}));
  sd.set("head.e", fk::zeros({4}));
  fk::StateDict m = sd.under("model.");
  REQUIRE(m.size() == 2);
  CHECK(m.items()[0].first == "a");
  CHECK(m.items()[1].first == "c.d");
  CHECK(m.at("c.d").numel() == 3);
  CHECK(sd.under("none.").empty());
  CHECK(sd.under("").size() == 4);
}
