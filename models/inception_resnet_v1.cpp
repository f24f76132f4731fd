// Placeholder until this family lands: registers no architecture yet.
#include "models/zoo.h"

namespace fk::models {

void add_inception_resnet_v1_archs(std::vector<ArchInfo>&) {}

}  // namespace fk::models
