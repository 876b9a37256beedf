// CodeShipping over files in a fresh temporary directory.
#include "runtime/src/code_shipping.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace ray::runtime {
namespace {

namespace fs = std::filesystem;

class CodeShippingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("code_shipping_test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  static std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  fs::path dir_;
};

TEST_F(CodeShippingTest, ShipsTheExecutableWithoutASearchPath) {
  std::string exe = Write("driver", std::string("\x7f" "ELF\0bytes", 9));
  proto::CodePackage code;
  std::string error;
  ASSERT_TRUE(CodeShipping(exe, {}).Read(&code, &error)) << error;
  ASSERT_EQ(code.size(), 1u);
  EXPECT_EQ(code[0].first, "driver");
  EXPECT_EQ(code[0].second, std::string("\x7f" "ELF\0bytes", 9));
}

TEST_F(CodeShippingTest, ShipsTheLibrariesOfTheSearchPathInsteadOfTheExecutable) {
  std::string exe = Write("driver", "exe");
  Write("libs/liba.so", "A");
  Write("libs/libb.so", "B");
  Write("libs/notes.txt", "not code");
  Write("libs/liba.so.1", "versioned: not matched");
  std::string single = Write("other/libc.so", "C");
  CodeShipping shipping(exe, {(dir_ / "libs").string(), single});
  EXPECT_EQ(Sorted(shipping.Files()),
            Sorted({(dir_ / "libs/liba.so").string(), (dir_ / "libs/libb.so").string(), single}));
  proto::CodePackage code;
  std::string error;
  ASSERT_TRUE(shipping.Read(&code, &error)) << error;
  std::sort(code.begin(), code.end());
  EXPECT_EQ(code, (proto::CodePackage{{"liba.so", "A"}, {"libb.so", "B"}, {"libc.so", "C"}}));
}

TEST_F(CodeShippingTest, SkipsSearchPathEntriesThatDoNotExist) {
  std::string lib = Write("liba.so", "A");
  CodeShipping shipping("/unused", {(dir_ / "missing").string(), lib});
  EXPECT_EQ(shipping.Files(), std::vector<std::string>{lib});
}

TEST_F(CodeShippingTest, MissingExecutableIsAnErrorNamingIt) {
  std::string exe = (dir_ / "gone").string();
  proto::CodePackage code;
  std::string error;
  EXPECT_FALSE(CodeShipping(exe, {}).Read(&code, &error));
  EXPECT_EQ(error, "cannot read " + exe +
                       " to ship it to the cluster: No such file or directory"
                       " (or set RayConfig::load_code_from_local)");
}

TEST_F(CodeShippingTest, UnreadableLibraryIsAnErrorNamingIt) {
  // A directory named like a library: listed, but it cannot be read as a file.
  fs::create_directories(dir_ / "libs/libdir.so");
  proto::CodePackage code;
  std::string error;
  EXPECT_FALSE(CodeShipping("/unused", {(dir_ / "libs").string()}).Read(&code, &error));
  EXPECT_NE(error.find("cannot read " + (dir_ / "libs/libdir.so").string()), std::string::npos)
      << error;
}

TEST_F(CodeShippingTest, LibraryDirectoryIsWhereTheSymbolsLibraryLives) {
  std::string libc_dir = LibraryDirectoryOf(reinterpret_cast<const void*>(&std::fopen));
  EXPECT_TRUE(fs::exists(fs::path(libc_dir) / "libc.so.6")) << libc_dir;
}

TEST_F(CodeShippingTest, LibraryDirectoryOfAnUnknownAddressIsTheCurrentDirectory) {
  EXPECT_EQ(LibraryDirectoryOf(nullptr), ".");
}

}  // namespace
}  // namespace ray::runtime
