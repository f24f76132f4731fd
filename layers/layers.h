// Umbrella header: fk::Module and every layer in layers/ (torch.nn's building blocks).
// Tests: tests/layers/test_module.cpp, tests/layers/test_layers.cpp.
#pragma once

#include "layers/activation.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/heads.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/optim.h"
#include "layers/pooling.h"
#include "layers/schedule.h"
#include "layers/se.h"
#include "layers/sequential.h"
