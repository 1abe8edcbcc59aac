/* test_dicom.c - STUB */
#include "test_dicom.h"
extern int test_dicom_stub;
int test_dicom_stub;
