// validate: see tools/validate.h.
#include <iostream>

#include "tools/validate.h"

int main(int argc, char** argv) {
  return cnn::validate::validate_main(argc, argv, cnn::backend_registry(), std::cout, std::cerr);
}
