// What both commands' command lines share: how a bad one is reported.
#ifndef GILSCOPE_CLI_COMMAND_LINE_H_
#define GILSCOPE_CLI_COMMAND_LINE_H_

#include <string>

namespace gilscope {

// Prints "gilscope: <message>" on stderr, one line.
void PrintError(const std::string& message);

}  // namespace gilscope

#endif  // GILSCOPE_CLI_COMMAND_LINE_H_
