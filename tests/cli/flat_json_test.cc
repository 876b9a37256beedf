#include "tools/ray/flat_json.h"

#include <gtest/gtest.h>

namespace ray::cli {
namespace {

TEST(FlatJson, ParsesEveryScalarKind) {
  FlatJson json;
  std::string error;
  ASSERT_TRUE(ParseFlatJson(R"( {"n": -2.5e1, "s": "a\"b\\n", "t": true, "f": false, "z": null} )",
                            &json, &error))
      << error;
  EXPECT_EQ(json["n"].number, -25);
  EXPECT_EQ(json["s"].text, "a\"b\\n");
  EXPECT_TRUE(json["t"].boolean);
  EXPECT_EQ(json["f"].kind, JsonValue::Kind::kBool);
  EXPECT_EQ(json["z"].kind, JsonValue::Kind::kNull);
  EXPECT_TRUE(ParseFlatJson("{}", &json, &error));
  ASSERT_TRUE(ParseFlatJson(R"({"u": "\u0041\u00e9"})", &json, &error)) << error;
  EXPECT_EQ(json["u"].text, "A\xc3\xa9");
}

TEST(FlatJson, RejectsWhatIsNotAFlatObject) {
  for (const char* text :
       {"", "[]", "{\"a\": {}}", "{\"a\": [1]}", "{\"a\": 1,}", "{\"a\" 1}", "{\"a\": 1} x",
        "{\"a\": 1, \"a\": 2}", "{\"a\": nan}", "{\"a\": 0x1}", "{\"a\": \"open}", "{a: 1}"}) {
    FlatJson json;
    std::string error;
    EXPECT_FALSE(ParseFlatJson(text, &json, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(FlatJson, ResourcesAreNonNegativeNumbers) {
  std::map<std::string, double> resources;
  std::string error;
  EXPECT_TRUE(ParseResources(R"({"GPU": 2, "Custom": 0.5})", &resources, &error));
  EXPECT_EQ(resources["Custom"], 0.5);
  EXPECT_FALSE(ParseResources(R"({"Custom": -1})", &resources, &error));
  EXPECT_NE(error.find("Custom"), std::string::npos);
  EXPECT_FALSE(ParseResources(R"({"Custom": "1"})", &resources, &error));
}

TEST(FlatJson, WriterOutputParsesBack) {
  std::string text = JsonWriter()
                         .Add("path", "/tmp/a \"b\"\\c\n\x01")
                         .Add("pid", 1234LL)
                         .Add("head", true)
                         .Finish();
  FlatJson json;
  std::string error;
  ASSERT_TRUE(ParseFlatJson(text, &json, &error)) << error << "\n" << text;
  EXPECT_EQ(json["path"].text, "/tmp/a \"b\"\\c\n\x01");
  EXPECT_EQ(json["pid"].number, 1234);
  EXPECT_TRUE(json["head"].boolean);
}

}  // namespace
}  // namespace ray::cli
