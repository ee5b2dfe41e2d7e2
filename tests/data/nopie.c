/* A non-PIE executable (ET_EXEC): its symbols need no load bias. */
int main(void)
{
	return 0;
}
