// Counting NaN and infinite values: what the commands check in weights files, galleries and training
// state before using or writing them (a model with one NaN weight gives all-NaN embeddings).
#pragma once

#include <cstdint>
#include <string>

#include "tensor/state_dict.h"
#include "tensor/tensor.h"

namespace fk {

// The NaN / +-Inf elements of a CPU tensor (any layout; integer and bool dtypes have none) and the
// flat index, in logical order, of the first one (-1 when none).
struct NonFinite {
  int64_t count = 0;
  int64_t first = -1;
};
NonFinite count_nonfinite(const Tensor& t);

// Over every tensor of a state dict: the total count and the first key holding one ("" when none).
struct NonFiniteEntries {
  int64_t count = 0;
  std::string first_key;
};
NonFiniteEntries count_nonfinite(const StateDict& sd);

// "3 non-finite values (NaN or Inf)": how the messages that refuse such values state the count.
std::string nonfinite_text(int64_t count);

}  // namespace fk
