/* An extension module's code, built with debug information left in. */
#include <string.h>
int demo_count(const char *s) { int n = 0; for (size_t i = 0; i < strlen(s); i++) n += s[i] == 'a'; return n; }
