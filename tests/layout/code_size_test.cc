// The size limits newcomers can rely on (issue 12): in actors/, runtime/src/
// and tools/, no file has 500 lines or more and no function body 80 or more.
// A function is a brace block opened after a parameter list (or a
// constructor's initializer list) outside any other function; lambdas count
// toward the function they are in.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr int kMaxFileLines = 500;
constexpr int kMaxFunctionLines = 80;

/// `text` with comments, string and character literals blanked (newlines kept).
std::string StripLiterals(const std::string& text) {
  std::string out;
  size_t i = 0, n = text.size();
  auto keep_newlines = [&](size_t from, size_t to) {
    for (size_t k = from; k < to && k < n; ++k) out += text[k] == '\n' ? '\n' : ' ';
  };
  while (i < n) {
    if (text.compare(i, 2, "//") == 0) {
      size_t end = text.find('\n', i);
      i = end == std::string::npos ? n : end;
    } else if (text.compare(i, 2, "/*") == 0) {
      size_t end = std::min(n, text.find("*/", i + 2) + 2);
      keep_newlines(i, end);
      i = end;
    } else if (text.compare(i, 2, "R\"") == 0) {
      size_t open = text.find('(', i);
      std::string close = ")" + text.substr(i + 2, open - i - 2) + "\"";
      size_t end = std::min(n, text.find(close, open) + close.size());
      keep_newlines(i, end);
      i = end;
    } else if (text[i] == '"' || (text[i] == '\'' && (i == 0 || !std::isalnum(text[i - 1])))) {
      char quote = text[i];
      size_t j = i + 1;
      while (j < n && text[j] != quote) j += text[j] == '\\' ? 2 : 1;
      out += "  ";
      i = j + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

struct Function {
  int lines;
  int first_line;
};

/// Whether the code before a '{' ends like a function head.
bool OpensFunction(const std::string& before) {
  static const std::regex after_params(
      R"(\)\s*(const|override|final|noexcept|mutable|\s)*(->\s*[\w:<>,\s\*&]+)?$)");
  static const std::regex control(R"(^\s*(else\s+)?(if|for|while|switch|catch)\b)");
  static const std::regex initializers(R"(\)\s*:\s*[\w:]+[\(\{].*[\)\}]\s*$)");
  // The statement the brace belongs to: what follows the last ';', '{' or '}'.
  size_t from = before.find_last_of(";{}");
  std::string head = from == std::string::npos ? before : before.substr(from + 1);
  std::replace(head.begin(), head.end(), '\n', ' ');
  if (std::regex_search(head, control)) return false;
  return std::regex_search(head, after_params) || std::regex_search(head, initializers);
}

std::vector<Function> Functions(const std::string& code) {
  std::vector<Function> found;
  std::vector<std::pair<bool, int>> open;  // is a function body, first line
  int line = 1, in_function = 0;
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i] == '\n') {
      ++line;
    } else if (code[i] == '{') {
      bool body = in_function == 0 && OpensFunction(code.substr(0, i));
      in_function += body;
      open.emplace_back(body, line);
    } else if (code[i] == '}' && !open.empty()) {
      auto [body, first] = open.back();
      open.pop_back();
      if (body) {
        --in_function;
        found.push_back({line - first + 1, first});
      }
    }
  }
  return found;
}

std::vector<fs::path> Sources() {
  std::vector<fs::path> files;
  for (const char* dir : {"actors", "runtime/src", "tools"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(RAY_SOURCE_DIR) / dir)) {
      auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".h" || ext == ".cc")) files.push_back(e.path());
    }
  }
  return files;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Relative(const fs::path& path) {
  return fs::relative(path, RAY_SOURCE_DIR).string();
}

TEST(CodeSize, FindsTheFunctionsOfAFile) {
  const std::string code =
      "int F(int a) {\n  if (a) {\n    return 1;\n  }\n  auto g = [](int) { return 2; };\n"
      "  return 0;\n}\nstruct S {\n  S() : x_(1) {}\n  int x_;\n};\n";
  auto functions = Functions(StripLiterals(code));
  ASSERT_EQ(functions.size(), 2u);
  EXPECT_EQ(functions[0].lines, 7);  // F, with its if block and lambda
  EXPECT_EQ(functions[1].lines, 1);  // S's constructor
  EXPECT_TRUE(Functions(StripLiterals("const char* s = \"{\"; // {\n")).empty());
}

TEST(CodeSize, NoFileHasTooManyLines) {
  std::vector<std::string> long_files;
  for (const auto& path : Sources()) {
    std::string text = Read(path);
    int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    if (lines >= kMaxFileLines) {
      long_files.push_back(Relative(path) + " (" + std::to_string(lines) + " lines)");
    }
  }
  EXPECT_TRUE(long_files.empty()) << "split these files:\n  " << testing::PrintToString(long_files);
}

TEST(CodeSize, NoFunctionHasTooManyLines) {
  std::vector<std::string> long_functions;
  for (const auto& path : Sources()) {
    for (const auto& f : Functions(StripLiterals(Read(path)))) {
      if (f.lines >= kMaxFunctionLines) {
        long_functions.push_back(Relative(path) + ":" + std::to_string(f.first_line) + " (" +
                                 std::to_string(f.lines) + " lines)");
      }
    }
  }
  EXPECT_TRUE(long_functions.empty())
      << "split these functions:\n  " << testing::PrintToString(long_functions);
}

}  // namespace
