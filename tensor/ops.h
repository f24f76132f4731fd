// The raw ops: fk::ops::<op> computes its result with no autograd graph. Each family has its own
// header (below) and its CPU kernels in tensor/cpu/<family>.cpp. Library users normally call the
// differentiable twins in namespace fk (autograd/ops.h); optimisers and backward functions call
// these directly.
#pragma once

#include "tensor/activation.h"
#include "tensor/conv.h"
#include "tensor/creation.h"
#include "tensor/elementwise.h"
#include "tensor/linalg.h"
#include "tensor/loss.h"
#include "tensor/norm.h"
#include "tensor/pool.h"
#include "tensor/reduce.h"
#include "tensor/shape_ops.h"
#include "tensor/upsample.h"
