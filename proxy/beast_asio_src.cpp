// The one translation unit that compiles Boost.Asio, its SSL part and Boost.Beast
// (BOOST_*_SEPARATE_COMPILATION): every other file sees declarations only.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
