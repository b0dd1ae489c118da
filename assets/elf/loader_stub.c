/* A stand-in for the glibc program loader, so the demo's programs find theirs. */
void demo_loader_stub(void) {}
