#include <stdlib.h>
#include <csv.h>
