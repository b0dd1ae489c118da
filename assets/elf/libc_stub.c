/* A stand-in for glibc's libc.so.6 in the demo image: it defines glibc's symbol versions up
   to GLIBC_2.36 (Debian 12's), which is what pydive reads to learn the image's glibc. */
void demo_libc_stub(void) {}
