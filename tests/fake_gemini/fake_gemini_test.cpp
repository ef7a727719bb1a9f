#include "fake_gemini/fake_gemini.hpp"

#include <catch2/catch.hpp>
