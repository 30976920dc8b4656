/*
 * dtype.h - torch's dtypes: names, element sizes, and the legacy storage
 * classes that stand for them in pickles (format.md §2.3).
 */
#ifndef PT_DTYPE_H
#define PT_DTYPE_H

#include <stddef.h>

enum pt_dtype {
	PT_DT_INVALID = 0,
	PT_DT_FLOAT64, PT_DT_FLOAT32, PT_DT_FLOAT16, PT_DT_BFLOAT16,
	PT_DT_INT64, PT_DT_INT32, PT_DT_INT16, PT_DT_INT8, PT_DT_UINT8,
	PT_DT_BOOL, PT_DT_COMPLEX32, PT_DT_COMPLEX64, PT_DT_COMPLEX128,
	PT_DT_QINT8, PT_DT_QUINT8, PT_DT_QINT32, PT_DT_QUINT4X2, PT_DT_QUINT2X4,
	PT_DT_FLOAT8_E5M2, PT_DT_FLOAT8_E4M3FN, PT_DT_FLOAT8_E5M2FNUZ,
	PT_DT_FLOAT8_E4M3FNUZ, PT_DT_FLOAT8_E8M0FNU, PT_DT_FLOAT4_E2M1FN_X2,
	PT_DT_UINT16, PT_DT_UINT32, PT_DT_UINT64,
	PT_DT_BITS8, PT_DT_BITS16, PT_DT_BITS1X8, PT_DT_BITS2X4, PT_DT_BITS4X2,
	PT_DT_COUNT
};

/* torch's name without "torch.": "float32". "invalid" for PT_DT_INVALID. */
const char *pt_dtype_name(enum pt_dtype dt);

/* Bytes per element; 0 for PT_DT_INVALID. */
size_t pt_dtype_size(enum pt_dtype dt);

/*
 * The byte unit a big-endian file's elements of dt are reversed in: the
 * element size, half of it for complex dtypes (two floats). Pure.
 */
unsigned pt_dtype_swap_unit(enum pt_dtype dt);

/* The dtype named `name` ("float32", also aliases "float", "long"...), or PT_DT_INVALID. */
enum pt_dtype pt_dtype_from_name(const char *name);

/*
 * The dtype of a storage class name as pickles write it: "FloatStorage",
 * "ByteStorage", TorchScript's "Float8_e4m3fnStorage"..., and "UntypedStorage"
 * (uint8). PT_DT_INVALID when name is not a storage class.
 */
enum pt_dtype pt_dtype_from_storage_class(const char *name);

/* The legacy storage class name of dt ("FloatStorage"), or NULL for new dtypes. */
const char *pt_dtype_storage_class(enum pt_dtype dt);

#endif
