// Rendering of tables and CSV.
#include <hac/render.hpp>
