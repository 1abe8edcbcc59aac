// dcmtk_parse.cc - the DCMTK side of bench/parse.sh: loads each file named
// on standard input with DcmFileFormat::loadFile, leaving values longer
// than 4 KiB unloaded (DCMTK's lazy loading: its metadata-only mode), and
// prints how many files and bytes it parsed and the time inside the loop
// (process start-up excluded, as for arca's bench_parse).  Built only by `make bench`.
#include <cstdio>
#include <iostream>
#include <string>
#include <sys/stat.h>
#include <time.h>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/oflog/oflog.h>

int main()
{
	std::string path;
	unsigned long files = 0, failed = 0;
	unsigned long long bytes = 0;

	// Warnings on odd files would cost terminal time, not parse time.
	OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (std::getline(std::cin, path)) {
		DcmFileFormat ff;
		OFCondition st = ff.loadFile(path.c_str(), EXS_Unknown, EGL_noChange, 4096);
		if (st.bad()) {
			failed++;
			continue;
		}
		struct stat sb;
		if (stat(path.c_str(), &sb) == 0)
			bytes += (unsigned long long)sb.st_size;
		files++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	std::printf("dcmtk files=%lu failed=%lu bytes=%llu seconds=%.4f\n", files, failed, bytes,
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
