#include "cli/command_line.h"

#include <iostream>

namespace gilscope {

void PrintError(const std::string& message) { std::cerr << "gilscope: " << message << "\n"; }

}  // namespace gilscope
