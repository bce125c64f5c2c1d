#include <gtest/gtest.h>

#include "protocol/errors.h"
#include "sampling/kohya_sample_request.h"
#include "sampling/prompt_options.h"

using namespace loraflow;

TEST(SamplingPromptOptions, ParsesKohyaOptions) {
  const auto o = parse_prompt_line(
      "a photo of sks dog, best quality --n lowres, blurry --w 768 --h 512 --d 42 --s 28 --l 7.5 --ss k_euler_a");
  EXPECT_EQ(o.prompt, "a photo of sks dog, best quality");
  ASSERT_TRUE(o.negative_prompt);
  EXPECT_EQ(*o.negative_prompt, "lowres, blurry");
  EXPECT_EQ(o.width, 768);
  EXPECT_EQ(o.height, 512);
  EXPECT_EQ(o.seed, 42);
  EXPECT_EQ(o.steps, 28);
  EXPECT_DOUBLE_EQ(*o.cfg_scale, 7.5);
  EXPECT_EQ(o.sampler, "k_euler_a");
  EXPECT_TRUE(o.unknown.empty());
}

TEST(SamplingPromptOptions, DefaultsUnknownOptionsAndClamping) {
  const auto o = parse_prompt_line("  a cat--not an option --cn control.png --S 5000 ");
  EXPECT_EQ(o.prompt, "a cat--not an option");
  EXPECT_FALSE(o.width);
  EXPECT_FALSE(o.negative_prompt);
  EXPECT_EQ(o.steps, 1000);  // kohya clamps to 1..1000; option letters are case-insensitive
  ASSERT_EQ(o.unknown.size(), 1u);
  EXPECT_EQ(o.unknown[0], "cn control.png");
}

TEST(SamplingPromptOptions, MalformedValuesNameTheOption) {
  try {
    parse_prompt_line("a dog --w wide");
    FAIL() << "expected an error";
  } catch (const EngineError& e) {
    EXPECT_EQ(e.code, errc::bad_request);
    EXPECT_NE(std::string(e.what()).find("--w"), std::string::npos);
  }
  EXPECT_THROW(parse_prompt_line("a dog --l 7.5.1"), EngineError);
}

TEST(SamplingPromptOptions, PromptFileSkipsCommentsAndBlankLines) {
  const auto all = parse_prompt_lines("# samples\n\na dog --d 1\r\n  # indented comment\na cat --n ugly\n");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].prompt, "a dog");
  EXPECT_EQ(all[0].seed, 1);
  EXPECT_EQ(all[1].prompt, "a cat");
  EXPECT_EQ(*all[1].negative_prompt, "ugly");
}

TEST(SamplingPromptOptions, KohyaLineBecomesASampleRequest) {
  SampleRequest defaults;
  defaults.prompts = {"ignored"};
  defaults.steps = 30;
  defaults.cfg_scale = 7.5;
  defaults.sampler = "ddim";
  const auto k = sample_request_from_prompt(
      parse_prompt_line("sks dog --n ugly --w 520 --h 700 --s 12 --l 4 --ss k_euler_a --cn x.png"), defaults, 99);
  EXPECT_EQ(k.request.prompts, std::vector<std::string>{"sks dog"});
  EXPECT_EQ(k.request.negative_prompt, "ugly");
  EXPECT_EQ(k.request.width, 512);
  EXPECT_EQ(k.request.height, 640);
  EXPECT_EQ(k.request.steps, 12);
  EXPECT_DOUBLE_EQ(k.request.cfg_scale, 4.0);
  EXPECT_EQ(k.request.sampler, "euler_a");
  EXPECT_EQ(k.request.seed, 99u);  // no --d
  ASSERT_EQ(k.warnings.size(), 1u);

  const auto d = sample_request_from_prompt(parse_prompt_line("a cat --d 7 --ss heun"), defaults, 99);
  EXPECT_EQ(d.request.seed, 7u);
  EXPECT_EQ(d.request.sampler, "ddim");  // unsupported sampler -> the default, with a warning
  EXPECT_EQ(d.request.steps, 30);
  EXPECT_EQ(d.warnings.size(), 1u);
  EXPECT_EQ(sampler_from_kohya("dpmsolver++"), "dpmpp_2m");
}
