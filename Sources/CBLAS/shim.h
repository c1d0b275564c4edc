#include <cblas.h>
/* OpenBLAS extension: pin the thread count explicitly instead of relying on the environment. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* OpenBLAS (DYNAMIC_ARCH builds): the kernel family in use (see Engine's OpenBLASCore). */
char *openblas_get_corename(void);
