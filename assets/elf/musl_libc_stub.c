/* musllinux wheels need musl's libc under the name Alpine gives it. */
void demo_musl_stub(void) {}
