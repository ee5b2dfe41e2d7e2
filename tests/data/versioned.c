/* A library with versioned symbols, like glibc's: the tests look its
 * symbols up to check .gnu.version handling. */
int old_wait(void);
int new_wait(void);
int plain_function(void);
int old_wait(void) { return 1; }
int new_wait(void) { return 2; }
int plain_function(void) { return 3; }
const char version_string[] = "3.9.18";
int some_data = 42;

__asm__(".symver old_wait, wait@VERS_1");
__asm__(".symver new_wait, wait@@VERS_2");
