#include "fake_gemini/fake_responder.hpp"

#include <catch2/catch.hpp>
