#include <cstdio>
int main() { std::puts("passwordless-auth"); }
