// Placeholder until this family lands: registers no architecture yet.
#include "models/zoo.h"

namespace fk::models {

void add_mtcnn_archs(std::vector<ArchInfo>&) {}

}  // namespace fk::models
