/* test_dicom.h - STUB */
#ifndef TEST_DICOM_H
#define TEST_DICOM_H
#endif
