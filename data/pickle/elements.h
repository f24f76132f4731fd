// Internal to data/pickle/ (not API): copying array elements out of pickled bytes, shared by the VM's
// numpy constructors (constructors.cpp) and by materialising torch tensor views (materialize.cpp),
// where both are defined.
#pragma once

#include <cstdint>

#include "data/pickle/value.h"

namespace fk::data::pickle {

// Copies the elements of a strided array (element (i0..ik) at src[offset + sum i_j*strides_j]) into a
// contiguous row-major buffer, swapping big-endian bytes and widening int8/16/32 to int64.
void copy_elements(const unsigned char* src, ElemType et, bool swap, const Shape& shape, const Shape& strides,
                   int64_t offset, void* dst);

// True when the product of max(d, 1) over `shape` fits in int64: then every stride computed for it
// (C or Fortran order) fits too, even for shapes with a zero dim.
bool extent_fits(const Shape& shape);

}  // namespace fk::data::pickle
