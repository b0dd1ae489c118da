/* The demo's "python3.11": a real program linked against glibc. */
#include <stdio.h>
int main(void) { puts("Python 3.11 (pydive demo)"); return 0; }
